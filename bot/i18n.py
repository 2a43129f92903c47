"""The bot's own words in the member's language, from gettext catalogs (prompts carry their own
translations in the alliance file).

A sentence is marked where it is written, and translated where the reader is known:

    raise UserError(_("There is nothing to skip: no question is waiting for you."))
    Reply(translate(ngettext("Your {n} check-in", "Your {n} check-ins", n), member.locale))

``_`` and ``ngettext`` return a :class:`Text` (the English sentence and its values), so code
that does not know the reader (a rule deep in the domain) can still say something; whoever
sends it calls :func:`translate`. Values are filled with ``str.format`` after translation, so a
catalog may move them. ``n`` is always a value of a plural sentence.

Catalogs live in ``bot/locales/<language>/LC_MESSAGES/messages.po`` and are read as they are
(no compiled ``.mo`` in the repository); ``docs/translating.md`` says how to add a language.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Babel is imported when a sentence is first written, not by `--help`
    from babel import Locale

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"


@dataclass(frozen=True)
class Text:
    """A sentence not yet translated: its English msgid (and plural), and the values it holds."""

    msgid: str
    plural: str | None = None
    n: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None
    """Where its catalogs are, when not the core's (an adapter's own sentences, ``Words``)."""

    def in_(self, locale: str) -> str:
        return translate(self, locale)

    def __str__(self) -> str:  # English, for logs and for code that never meets a reader
        return translate(self, "en")


@dataclass(frozen=True)
class Number:
    """A quantity, written the reader's way when its sentence is translated (``1 250`` in
    French, ``1,250`` in English). Ids and years stay plain values."""

    value: float | int

    def in_(self, locale: str) -> str:
        return number(self.value, locale)


@dataclass(frozen=True)
class Day:
    """A date, written in the reader's language (``jeudi 24 décembre 2026``)."""

    value: date

    def in_(self, locale: str) -> str:
        return long_date(self.value, locale)


@dataclass(frozen=True)
class Language:
    """A language's name, in the language its sentence is read in (``German`` in an English
    sentence, ``allemand`` in a French one)."""

    code: str

    def in_(self, locale: str) -> str:
        return babel_locale(self.code).get_display_name(written(locale)) or self.code


def _(msgid: str, **values: Any) -> Text:
    """Mark ``msgid`` for the catalogs; translated later, for its reader."""
    return Text(msgid, values=values)


def ngettext(singular: str, plural: str, n: int, **values: Any) -> Text:
    """A sentence whose form follows the number ``n`` (``{n}`` in the text shows it)."""
    return Text(singular, plural, n, {"n": Number(n), **values})


@lru_cache(maxsize=1)
def languages() -> list[str]:
    """The languages that have a catalog (English always does)."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return sorted(found | {"en"})


def base_language(locale: str) -> str:
    return (locale or "en").replace("-", "_").split("_")[0].lower()


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """Babel's locale for a member's ``en``, ``fr``, ``de-CH`` or ``pt_BR``; English when
    Babel does not know it."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse((locale or "en").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en")


def written(locale: str) -> Locale:
    """How figures and dates are written for ``locale``: its own way when its language has a
    catalog, else as in English (a German reader without German texts reads English
    sentences, with English dates in them)."""
    return babel_locale(locale if base_language(locale) in languages() else "en")


def number(value: float | int | None, locale: str, *, places: int = 1) -> str:
    """A figure the reader's way: whole numbers without decimals, others with up to
    ``places`` (``1 250,5`` in French)."""
    if value is None:
        return ""
    from babel.numbers import format_decimal

    shown = f"#,##0.{'#' * places}" if places else "#,##0"
    return format_decimal(value, format=shown, locale=written(locale))


def percent(value: float | None, locale: str) -> str:
    """``42 %`` (French), ``42%`` (English); an em dash when there is no rate."""
    if value is None:
        return "—"
    from babel.numbers import format_percent

    return format_percent(value, locale=written(locale))


def long_date(day: date, locale: str) -> str:
    """``Thursday 24 December 2026`` / ``jeudi 24 décembre 2026`` / ``jueves, 24 de
    diciembre de 2026`` (the alliance's English writes the day before the month)."""
    from babel.dates import format_date

    where = written(locale)
    shown = "EEEE d MMMM y" if where.language == "en" else "full"
    return format_date(day, shown, locale=where)


@lru_cache(maxsize=32)
def catalog(locale: str, root: Path | None = None) -> gettext.NullTranslations:
    """The translations for ``locale`` (its language's catalog under ``root``, the core's by
    default), or English. Another root's catalog falls back to the core's. Read once per
    process from the ``.po`` file: catalogs are package data, never changed while running."""
    path = (root or LOCALES_DIR) / base_language(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
    core = catalog(locale) if root not in (None, LOCALES_DIR) else gettext.NullTranslations()
    if not path.is_file():
        return core
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as po:
        parsed = read_po(po, locale=base_language(locale))
    compiled = BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    found = gettext.GNUTranslations(compiled)
    if root not in (None, LOCALES_DIR):
        found.add_fallback(core)
    return found


def translate(text: Text | str, locale: str) -> str:
    """``text`` in ``locale``'s language with its values filled in (a plain ``str`` is already
    what the reader sees: a member's words, a name). Values that are themselves a
    :class:`Text`, a :class:`Number` or a :class:`Day` are written in the same language."""
    if isinstance(text, str):
        return text
    found = catalog(locale, text.root)
    if text.plural is not None and text.n is not None:
        sentence = found.ngettext(text.msgid, text.plural, text.n)
    else:
        sentence = found.gettext(text.msgid)
    if not text.values:
        return sentence
    return sentence.format(**{k: _value(v, locale) for k, v in text.values.items()})


def _value(value: Any, locale: str) -> Any:
    if isinstance(value, Text | Number | Day | Language):
        return value.in_(locale)
    return value


@dataclass(frozen=True)
class Words:
    """``_`` and ``ngettext`` for sentences whose catalogs live elsewhere than the core's (an
    adapter's own words, under ``root``); translated with :func:`translate` like any other."""

    root: Path

    def _(self, msgid: str, **values: Any) -> Text:
        return Text(msgid, values=values, root=self.root)

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> Text:
        return Text(singular, plural, n, {"n": Number(n), **values}, self.root)


def pick(translations: Mapping[str, str] | str, locale: str) -> str:
    """A name given in the alliance file as one text or as ``{en: …, fr: …}``: the reader's
    language, else its base language, else English (else any)."""
    if isinstance(translations, str):
        return translations
    wanted = (locale or "en").replace("_", "-")
    return (
        translations.get(wanted)
        or translations.get(base_language(wanted))
        or translations.get("en")
        or next(iter(translations.values()), "")
    )


class Reader:
    """Someone the bot writes to: ``reader(_("…"))`` is the sentence in their language."""

    def __init__(self, locale: str) -> None:
        self.locale = locale or "en"

    def __call__(self, text: Text | str) -> str:
        return translate(text, self.locale)
