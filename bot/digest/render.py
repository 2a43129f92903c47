"""The digest for people: plain text here, a neutral document for each platform to render.

``text`` is the console's message and every platform's plain fallback. ``formats`` gives the
digest value itself (a :class:`Digest` or :class:`SharedPost`) as a JSON document under
:data:`DOCUMENT`; each adapter reads it back with :func:`read_document` and renders it in its
own markup, escaping member text for that markup. :data:`FIGURES` are the number formats every
rendering shares, so a figure reads the same on every platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import TypeAdapter, ValidationError

from bot.digest.compute import QUIET_PERIODS
from bot.digest.model import Digest, SharedPost, Unreachable

DOCUMENT = "digest"
"""The key of the neutral digest document in ``Outgoing.formats`` and ``Reply.formats``."""
_KINDS: dict[str, type[Digest] | type[SharedPost]] = {"staff": Digest, "shared": SharedPost}


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def change(value: float | None) -> str:
    if value is None:
        return ""
    points = round(value * 100)
    return "±0 pts" if points == 0 else f"{points:+d} pts"


def num(value: float | None) -> str:
    if value is None:
        return "no figure"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def join_person(person: tuple[str, str]) -> str:
    """A member and what they owe: ``Ann (People reached)``."""
    return f"{person[0]} ({person[1]})"


def unreachable_line(u: Unreachable) -> str:
    """``Bee NGO: all 2 members on slack, since 2026-11-23 09:00 UTC: …`` (plain text)."""
    if u.partly:
        who = f"{u.unreachable} of {u.members} members"
    else:
        who = f"all {u.members} members" if u.members > 1 else "its one member"
    since = f"{u.since:%Y-%m-%d %H:%M} UTC"
    return f"{u.organisation}: {who} on {u.platform}, since {since}: {u.reason}"


UNREACHABLE_TITLE = "Unreachable organisations"
UNREACHABLE_NOTE = "nothing can be sent to them; their data is kept"

FIGURES: Mapping[str, object] = {
    "pct": pct,
    "num": num,
    "change": change,
    "quiet_periods": QUIET_PERIODS,
    "unreachable_title": UNREACHABLE_TITLE,
    "unreachable_note": UNREACHABLE_NOTE,
}
"""Template globals every platform's digest templates use."""
FILTERS: Mapping[str, Callable[..., str]] = {
    "join_person": join_person,
    "unreachable_line": unreachable_line,
}


@cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    return TypeAdapter(_KINDS[kind])


def document(value: Digest | SharedPost) -> str:
    """The digest value as JSON: what the outbox keeps and the adapters render."""
    kind = "staff" if isinstance(value, Digest) else "shared"
    body = _adapter(kind).dump_json(value).decode()
    return f'{{"kind": "{kind}", "value": {body}}}'


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


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.digest", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(FIGURES)
    env.filters.update(FILTERS)
    return env


class DigestRenderer:
    """Holds the template environment (built once, passed where needed; no module state)."""

    def __init__(self) -> None:
        self.env = _environment()

    def text(self, digest: Digest) -> str:
        return self.env.get_template("digest.txt.j2").render(d=digest).strip() + "\n"

    def shared_text(self, post: SharedPost) -> str:
        return self.env.get_template("shared.txt.j2").render(p=post).strip() + "\n"

    def formats(self, value: Digest | SharedPost) -> dict[str, str]:
        """What goes with the text for the platforms to render: the neutral document."""
        return {DOCUMENT: document(value)}


def render_text(digest: Digest) -> str:
    return DigestRenderer().text(digest)
