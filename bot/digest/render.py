"""The digest for people: plain text here, a neutral document for each platform to render.

``text`` is the console's message and every platform's plain fallback. ``formats`` gives the
digest value itself (a :class:`Digest` or :class:`SharedPost`) as a JSON document under
:data:`DOCUMENT`; each adapter reads it back with :func:`read_document` and renders it in its
own markup, escaping member text for that markup. :data:`FIGURES` are the number formats every
rendering shares, so a figure reads the same on every platform.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC
from functools import cache, partial
from typing import Any

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined
from pydantic import TypeAdapter, ValidationError

from bot.digest.compute import QUIET_PERIODS
from bot.digest.model import Digest, SharedPost, Unreachable
from bot.i18n import Number, Words, _, ngettext, number, percent, pick, translate
from bot.insight.words import curve_question, insight_sections, state_word, theme_label

DOCUMENT = "digest"
"""The key of the neutral digest document in ``Outgoing.formats`` and ``Reply.formats``."""
_KINDS: dict[str, type[Digest] | type[SharedPost]] = {"staff": Digest, "shared": SharedPost}


def pct(value: float | None, locale: str = "en") -> str:
    return percent(value, locale)


def change(value: float | None, locale: str = "en") -> str:
    """The change of a rate in percentage points: ``+5 pts``, ``±0 pts``."""
    if value is None:
        return ""
    points = round(value * 100)
    shown = "±0" if points == 0 else f"{points:+d}"
    return translate(_("{change} pts", change=shown), locale)


def num(value: float | None, locale: str = "en") -> str:
    if value is None:
        return translate(_("no figure"), locale)
    return number(value, locale)


def label(name: str, names: Mapping[str, Mapping[str, str]], locale: str = "en") -> str:
    """A measure's label in the reader's language (``Digest.names``), else as given."""
    return pick({**names.get(name, {}), "en": name}, locale)


def join_person(
    person: tuple[str, str],
    names: Mapping[str, Mapping[str, str]] | None = None,
    locale: str = "en",
) -> str:
    """A member and what they owe: ``Ann (figures: People reached)``, ``Bo (exercise)``."""
    who, measure = person
    if not measure:
        return translate(_("{name} (exercise)", name=who), locale)
    what = label(measure, names or {}, locale)
    return translate(_("{name} (figures: {measure})", name=who, measure=what), locale)


def unreachable_line(u: Unreachable, locale: str = "en") -> str:
    """``Bee NGO: all 2 members on slack, since 2026-11-23 09:00 UTC: …`` (plain text)."""
    if u.partly:
        who = ngettext(
            "{unreachable} of {n} member",
            "{unreachable} of {n} members",
            u.members,
            unreachable=Number(u.unreachable),
        )
    else:
        who = ngettext("its one member", "all {n} members", u.members)
    since = f"{u.since.astimezone(UTC):%Y-%m-%d %H:%M}"
    line = _(
        "{organisation}: {who} on {platform}, since {since} UTC: {reason}",
        organisation=u.organisation,
        who=who,
        platform=u.platform,
        since=since,
        reason=u.reason,
    )
    return translate(line, locale)


AGGREGATIONS = {"sum": _("sum"), "mean": _("average"), "latest": _("latest figure")}


def aggregation(key: str, locale: str = "en") -> str:
    """How a measure's figures add up (``sum``, ``average``), in the reader's language."""
    return translate(AGGREGATIONS[key], locale) if key in AGGREGATIONS else key


UNREACHABLE_TITLE = _("Unreachable organisations")
UNREACHABLE_NOTE = _("nothing can be sent to them; their data is kept")


def figures(locale: str) -> dict[str, object]:
    """Template globals every platform's digest templates use, for a reader of ``locale``:
    ``_``/``ngettext`` come with the i18n extension (:func:`digest_environment`)."""
    return {
        "locale": locale,
        "pct": partial(pct, locale=locale),
        "num": partial(num, locale=locale),
        "change": partial(change, locale=locale),
        "tr": partial(translate, locale=locale),
        "label": partial(label, locale=locale),
        "aggregation": partial(aggregation, locale=locale),
        "quiet_periods": QUIET_PERIODS,
        "curve_question": partial(curve_question, locale=locale),
        "state_word": partial(state_word, locale=locale),
        "theme_label": partial(theme_label, locale=locale),
        "insight": partial(insight_sections, locale=locale),
        "unreachable_title": translate(UNREACHABLE_TITLE, locale),
        "unreachable_note": translate(UNREACHABLE_NOTE, locale),
    }


def filters(locale: str) -> dict[str, Callable[..., str]]:
    return {
        "join_person": partial(join_person, locale=locale),
        "unreachable_line": partial(unreachable_line, locale=locale),
    }


FIGURES: Mapping[str, object] = figures("en")
"""English template globals (tools and tests); readers get :func:`figures` of their locale."""
FILTERS: Mapping[str, Callable[..., str]] = filters("en")


def digest_environment(
    loader: BaseLoader, locale: str, *, autoescape: bool, words: Words | None = None
) -> Environment:
    """A Jinja2 environment for one platform's digest templates, in ``locale``'s language:
    ``_("…", name=value)`` and ``ngettext(singular, plural, n)`` in a template translate with
    the catalogs (``jinja2.ext.i18n``, old-style: the values are filled by ``bot.i18n``)."""
    env = Environment(
        loader=loader,
        autoescape=autoescape,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )

    mark, marks = (words._, words.ngettext) if words else (_, ngettext)

    def gettext(message: str, **values: Any) -> str:
        return translate(mark(message, **values), locale)

    def plural(singular: str, many: str, n: int, **values: Any) -> str:
        return translate(marks(singular, many, n, **values), locale)

    env.install_gettext_callables(gettext, plural, newstyle=False)  # type: ignore[attr-defined]
    env.globals.update(figures(locale))
    env.filters.update(filters(locale))
    return env


@cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    return TypeAdapter(_KINDS[kind])


def document(value: Digest | SharedPost, locale: str = "en") -> str:
    """The digest value as JSON, with its reader's language: what the outbox keeps and the
    adapters render."""
    kind = "staff" if isinstance(value, Digest) else "shared"
    body = _adapter(kind).dump_json(value).decode()
    return f'{{"kind": "{kind}", "locale": {json.dumps(locale)}, "value": {body}}}'


def document_locale(formats: Mapping[str, str]) -> str:
    """The language the digest in ``formats`` is to be read in (English when not said)."""
    raw = formats.get(DOCUMENT)
    if not raw:
        return "en"
    try:
        wrapper = TypeAdapter(dict[str, Any]).validate_json(raw)
    except ValidationError:
        return "en"
    return str(wrapper.get("locale") or "en")


def read_document(formats: Mapping[str, str]) -> Digest | SharedPost | None:
    """The digest value in ``formats`` (see :func:`document`); None when there is none or it
    cannot be read (the message then goes out as its plain text)."""
    raw = formats.get(DOCUMENT)
    if not raw:
        return None
    try:
        wrapper = TypeAdapter(dict[str, Any]).validate_json(raw)
        kind = wrapper.get("kind")
        if kind not in _KINDS:
            return None
        value: Digest | SharedPost = _adapter(str(kind)).validate_python(wrapper.get("value"))
    except ValidationError:
        return None
    return value


class DigestRenderer:
    """Holds the template environments, one per language met (built once, passed where
    needed; no module state)."""

    def __init__(self) -> None:
        self._envs: dict[str, Environment] = {}

    def env(self, locale: str = "en") -> Environment:
        if locale not in self._envs:
            loader = PackageLoader("bot.digest", "templates")
            self._envs[locale] = digest_environment(loader, locale, autoescape=False)
        return self._envs[locale]

    def text(self, digest: Digest, locale: str = "en") -> str:
        return self.env(locale).get_template("digest.txt.j2").render(d=digest).strip() + "\n"

    def shared_text(self, post: SharedPost, locale: str = "en") -> str:
        return self.env(locale).get_template("shared.txt.j2").render(p=post).strip() + "\n"

    def formats(self, value: Digest | SharedPost, locale: str = "en") -> dict[str, str]:
        """What goes with the text for the platforms to render: the neutral document."""
        return {DOCUMENT: document(value, locale)}


def render_text(digest: Digest, locale: str = "en") -> str:
    return DigestRenderer().text(digest, locale)
