"""Checking an answer against the prompt's answer type, with a polite explanation when it fails.

The limits, for every answer type (a refused answer stores nothing and says how to fix it):

- **text**: 1 to :data:`MAX_ANSWER_CHARS` characters once blank space and invisible controls
  are set aside; a NUL is dropped, everything else is kept as typed.
- **number**: one figure, written the member's way (Babel reads it for their locale:
  ``1,250.5`` in English, ``1 250,5`` in French, ``1.250`` = 1250 in German or Spanish; a space
  between groups of three digits works everywhere), with up to three words around it
  (``12 sessions``). It is finite, from 0 to :data:`MAX_NUMBER`, and a whole number unless the
  prompt allows ``decimals`` (a count, the default, takes none). ``inf``, ``NaN`` and
  ``1e309`` are not figures.
- **scale**: a whole number from the scale's ``min`` to its ``max``.
- **choice**: a choice's label in any language, its key, or its number in the list.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

from bot.domain.errors import UserError
from bot.domain.prompts import PromptDef, pick
from bot.domain.values import DEFAULT_LOCALE, AnswerType
from bot.i18n import Language, Number, Text, _, ngettext
from bot.text import ascii_digits, neutral, quote, storable

MAX_ANSWER_CHARS = 4000
MAX_NUMBER = 1_000_000_000
"""The largest figure a number answer may give (a billion)."""
MAX_NUMBER_CHARS = 32
"""The longest figure read, separators included: longer runs of digits are not figures."""

_SPACE_LIKE = " \u00a0\u202f"
_NUMBER = re.compile(r"[-+\u2212]?\d+(?:[.,'’\u00a0\u202f ]\d+)*")
_SPACE_GROUPED = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?")
_MAX_WORDS = 3


@dataclass(frozen=True)
class Answer:
    text: str
    number: float | None = None
    choice: str | None = None

    def display(self, prompt: PromptDef | None = None, locale: str = DEFAULT_LOCALE) -> str:
        """The answer as the bot echoes it back: a choice's label, a figure written for
        ``locale``, or the text with its control characters neutralised."""
        if self.choice is not None and prompt is not None and prompt.choices:
            return prompt.choice_label(self.choice, locale)
        if self.number is not None:
            return format_decimal(
                self.number, locale=babel_locale(locale), decimal_quantization=False
            )
        return neutral(self.text)


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """Babel's locale for a member's ``en``, ``fr``, ``de-CH`` or ``pt_BR``; English when
    Babel does not know it."""
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class NotANumber(ValueError):
    """The text holds no figure that can be read; ``hint`` says how to write one."""

    def __init__(self, text: str, hint: Text | str = "") -> None:
        super().__init__(text)
        self.hint = hint


def parse_number(text: str, locale: str = DEFAULT_LOCALE) -> Decimal:
    """The one figure in ``text`` (``12``, ``1,250``, ``12 sessions``) read for ``locale``.

    Signs are kept (callers refuse negatives); NotANumber when there is no figure, more than
    one, or words beyond three around it."""
    cleaned = ascii_digits(text.strip())
    found = _NUMBER.findall(cleaned)
    rest = _NUMBER.sub(" ", cleaned)
    words = rest.split()
    if (
        len(found) != 1
        or len(found[0]) > MAX_NUMBER_CHARS
        or len(words) > _MAX_WORDS
        or not all(w.strip(".%") == "" or w.strip(".%").isalpha() for w in words)
    ):
        raise NotANumber(text)
    token = found[0]
    negative = token[0] in "-\u2212"
    digits = token.lstrip("-+\u2212")
    where = babel_locale(locale)
    group = get_group_symbol(where)
    if group in _SPACE_LIKE:
        digits = re.sub(f"[{_SPACE_LIKE}]", group, digits)
    elif _SPACE_GROUPED.fullmatch(digits):
        digits = re.sub(f"[{_SPACE_LIKE}]", "", digits)
    try:
        value = parse_decimal(digits, locale=where, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        raise NotANumber(text, _how_to_write(where)) from None
    if not value.is_finite():
        raise NotANumber(text)
    return -value if negative else value


def _how_to_write(where: Locale) -> Text:
    example = format_decimal(Decimal("1250.5"), locale=where)
    return _(
        " In {language}, write thousands and decimals like this: {example} (“{group}” between "
        "thousands, “{decimal}” before decimals).",
        language=Language(str(where)),
        example=example,
        group=get_group_symbol(where),
        decimal=get_decimal_symbol(where),
    )


CLOSE_SPELLING = 0.8
"""How alike (difflib's ratio) a typed choice must be to a label to count as it."""


def parse_answer(prompt: PromptDef, text: str, locale: str = DEFAULT_LOCALE) -> Answer:
    """Check ``text`` against ``prompt``; UserError says what was expected, with an example."""
    value = storable(text).strip()
    if not neutral(value).strip():
        raise UserError(_("Your answer was empty. Write a few words, then send it again."))
    if len(value) > MAX_ANSWER_CHARS:
        raise UserError(
            _(
                "Your answer has {count} characters; please keep it under {most} (a summary "
                "is fine).",
                count=Number(len(value)),
                most=Number(MAX_ANSWER_CHARS),
            )
        )
    if prompt.answer is AnswerType.TEXT:
        return Answer(value)
    if prompt.answer is AnswerType.NUMBER:
        return _number(prompt, value, locale)
    if prompt.answer is AnswerType.SCALE:
        return _scale(prompt, value, locale)
    return _choice(prompt, value, locale)


def _number(prompt: PromptDef, value: str, locale: str) -> Answer:
    unit = pick(prompt.unit, locale) if prompt.unit else ""
    example = f"12 {unit}".strip()
    try:
        number = parse_number(value, locale)
    except NotANumber as exc:
        raise UserError(
            _(
                "I need a number for this one, like “{example}”. I could not read a number in "
                "“{text}”; nothing was saved.{hint}",
                example=example,
                text=quote(value),
                hint=exc.hint,
            )
        ) from None
    if number < 0:
        raise UserError(
            _(
                "A count cannot be negative; send the figure as a number, like “{example}”. "
                "Nothing was saved.",
                example=example,
            )
        )
    if number > MAX_NUMBER:
        raise UserError(  # the figure as typed: Babel cannot round 1E+25
            _(
                "“{text}” is more than I can take: figures go up to {most}. Check the figure "
                "and send it again; nothing was saved.",
                text=quote(value),
                most=Number(MAX_NUMBER),
            )
        )
    places = -int(number.normalize().as_tuple().exponent)
    if places > prompt.decimals:
        if prompt.decimals == 0:
            where = babel_locale(locale)
            hint: Text | str = ""
            if get_decimal_symbol(where) in value:
                hint = _(
                    " In {language}, “{decimal}” marks decimals; a thousand and more is written "
                    "like {example}.",
                    language=Language(str(where)),
                    decimal=get_decimal_symbol(where),
                    example=format_decimal(1250, locale=where),
                )
            raise UserError(
                _(
                    "This one is a count, so it takes a whole number, like “{example}”; "
                    "“{text}” is not one. Nothing was saved.{hint}",
                    example=example,
                    text=quote(value),
                    hint=hint,
                )
            )
        raise UserError(
            ngettext(
                "This figure takes at most {n} decimal place; “{text}” has {places}. Round it "
                "and send it again; nothing was saved.",
                "This figure takes at most {n} decimal places; “{text}” has {places}. Round "
                "it and send it again; nothing was saved.",
                prompt.decimals,
                text=quote(value),
                places=places,
            )
        )
    return Answer(value, number=float(number))


def _scale(prompt: PromptDef, value: str, locale: str) -> Answer:
    assert prompt.scale is not None
    low, high = prompt.scale.min, prompt.scale.max
    try:
        number: Decimal | None = parse_number(value, locale)
    except NotANumber:
        number = None
    if number is None or number != number.to_integral_value() or not low <= number <= high:
        raise UserError(
            _(
                "Please answer with a whole number from {low} to {high}; “{text}” is not one. "
                "Nothing was saved.",
                low=low,
                high=high,
                text=quote(value),
            )
        )
    return Answer(value, number=float(number), choice=str(int(number)))


def _choice(prompt: PromptDef, value: str, locale: str) -> Answer:
    folded = _fold(value)
    names: dict[str, set[str]] = {}  # a folded label or key -> the keys of the choices it names
    for index, choice in enumerate(prompt.choices, start=1):
        labels = {_fold(label) for label in choice.label.values()}
        if folded in labels | {_fold(choice.key), str(index)}:
            return Answer(pick(choice.label, locale), choice=choice.key)
        for name in labels | {_fold(choice.key)}:
            names.setdefault(name, set()).add(choice.key)
    if len(folded) >= 3:  # a close spelling (“Not shure”) of one choice's label, and no other's
        close = difflib.get_close_matches(folded, list(names), n=3, cutoff=CLOSE_SPELLING)
        keys = set().union(*(names[name] for name in close)) if close else set()
        if len(keys) == 1:
            [chosen] = [c for c in prompt.choices if c.key in keys]
            return Answer(pick(chosen.label, locale), choice=chosen.key)
    options = "; ".join(f"{i}. {pick(c.label, locale)}" for i, c in enumerate(prompt.choices, 1))
    raise UserError(
        _(
            "“{text}” is not one of the choices. Answer with one of: {options} (the number is "
            "enough).",
            text=quote(value),
            options=options,
        )
    )
