"""Checking an answer against the prompt's answer type, with a polite explanation when it fails."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.domain.errors import UserError
from bot.domain.prompts import PromptDef, pick
from bot.domain.values import AnswerType

MAX_ANSWER_CHARS = 4000
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+|\d+)(?:[.,]\d+)?")


@dataclass(frozen=True)
class Answer:
    text: str
    number: float | None = None
    choice: str | None = None

    def display(self, prompt: PromptDef | None = None, locale: str = "en") -> str:
        if self.choice is not None and prompt is not None and prompt.choices:
            return prompt.choice_label(self.choice, locale)
        if self.number is not None:
            return f"{self.number:g}"
        return self.text


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_number(text: str) -> float:
    """A figure such as ``12``, ``1,250``, ``1 250``, ``12.5`` or ``12 sessions``."""
    cleaned = text.strip()
    found = _NUMBER.findall(cleaned)
    rest = _NUMBER.sub(" ", cleaned)
    if len(found) != 1 or re.search(r"[^\sA-Za-zÀ-ÿ.%]", rest) or re.search(r"\d", rest):
        raise ValueError(text)
    raw = found[0]
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+", raw):
        raw = raw.replace(",", "")
    raw = re.sub(r"[ \u00a0\u202f]", "", raw)
    if "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    raw = raw.replace(",", "")
    value = float(raw)
    words = [w for w in re.findall(r"[A-Za-zÀ-ÿ]+", rest)]
    if len(words) > 3:
        raise ValueError(text)
    return value


def parse_answer(prompt: PromptDef, text: str, locale: str = "en") -> Answer:
    """Check ``text`` against ``prompt``; UserError says what was expected, with an example."""
    value = text.strip()
    if not value:
        raise UserError("Your answer was empty. Write a few words, then send it again.")
    if len(value) > MAX_ANSWER_CHARS:
        raise UserError(
            f"Your answer has {len(value)} characters; please keep it under "
            f"{MAX_ANSWER_CHARS} (a summary is fine)."
        )
    if prompt.answer is AnswerType.TEXT:
        return Answer(value)
    if prompt.answer is AnswerType.NUMBER:
        return _number(prompt, value, locale)
    if prompt.answer is AnswerType.SCALE:
        return _scale(prompt, value)
    return _choice(prompt, value, locale)


def _number(prompt: PromptDef, value: str, locale: str) -> Answer:
    unit = pick(prompt.unit, locale) if prompt.unit else ""
    example = f"12 {unit}".strip()
    try:
        number = parse_number(value)
    except ValueError:
        raise UserError(
            f"I need a number for this one, like “{example}”. "
            f"I could not read a number in “{value}”; nothing was saved."
        ) from None
    if number < 0:
        raise UserError(
            f"A count cannot be negative; send the figure as a number, like “{example}”."
        )
    return Answer(value, number=number)


def _scale(prompt: PromptDef, value: str) -> Answer:
    assert prompt.scale is not None
    low, high = prompt.scale.min, prompt.scale.max
    try:
        number = parse_number(value)
    except ValueError:
        number = None
    if number is None or number != int(number) or not low <= number <= high:
        raise UserError(
            f"Please answer with a whole number from {low} to {high}; "
            f"“{value}” is not one. Nothing was saved."
        )
    return Answer(value, number=float(number), choice=str(int(number)))


def _choice(prompt: PromptDef, value: str, locale: str) -> Answer:
    folded = _fold(value)
    for index, choice in enumerate(prompt.choices, start=1):
        labels = {_fold(label) for label in choice.label.values()}
        if folded in labels | {_fold(choice.key), str(index)}:
            return Answer(pick(choice.label, locale), choice=choice.key)
    options = "; ".join(f"{i}. {pick(c.label, locale)}" for i, c in enumerate(prompt.choices, 1))
    raise UserError(
        f"“{value}” is not one of the choices. Answer with one of: {options} "
        "(the number is enough)."
    )
