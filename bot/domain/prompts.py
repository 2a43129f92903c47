"""Prompts: the questions members are asked, in several languages."""

from __future__ import annotations

import re
import string
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.values import DEFAULT_LOCALE, AnswerType, Condition, PromptKind

PROMPT_ID = r"^[a-z0-9][a-z0-9.-]{1,58}[a-z0-9]$"
PLACEHOLDERS = frozenset({"organisation", "period", "unit"})
MAX_PROMPT_CHARS = 400

Translations = dict[str, str]


def pick(translations: Translations, locale: str) -> str:
    """The text in ``locale`` (or its base language), falling back to English."""
    base = locale.split("-")[0].split("_")[0].lower()
    return translations.get(locale) or translations.get(base) or translations[DEFAULT_LOCALE]


def check_translations(value: Translations, *, what: str) -> Translations:
    """``value`` if it is a text per language with an English one; ValueError says why not."""
    return _check_translations(value, what=what)


def _check_translations(value: Translations, *, what: str) -> Translations:

    if DEFAULT_LOCALE not in value:
        raise ValueError(
            f"{what} needs an English text under `en` (other languages fall back to it)."
        )
    for lang, text in value.items():
        if not re.fullmatch(r"[a-z]{2}([-_][A-Za-z]{2})?", lang):
            raise ValueError(
                f"“{lang}” is not a language code; use two letters such as en, fr, es."
            )
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the `{lang}` {what} is empty; write it or remove the line.")
    return value


class Choice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]
    label: Translations

    @field_validator("label")
    @classmethod
    def _label(cls, value: Translations) -> Translations:
        return _check_translations(value, what="label")


class Scale(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min: int = 1
    max: int = 5
    low: Translations | None = None
    high: Translations | None = None

    @model_validator(mode="after")
    def _range(self) -> Self:
        if not self.min < self.max <= self.min + 10:
            raise ValueError(
                f"a scale runs from a smaller to a larger number, at most 10 apart "
                f"(got {self.min} to {self.max})."
            )
        return self


class PromptDef(BaseModel):
    """One prompt of the library or of an alliance file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=PROMPT_ID)]
    kind: PromptKind
    answer: AnswerType
    conditions: Annotated[tuple[Condition, ...], Field(min_length=1)]
    practice: str | None = None
    text: Translations
    choices: tuple[Choice, ...] = ()
    scale: Scale | None = None
    measure: str | None = None
    unit: Translations | None = None
    decimals: Annotated[int, Field(ge=0, le=6)] = 0
    """Decimal places a number answer may have: 0 (the default) makes it a count."""

    @field_validator("text")
    @classmethod
    def _text(cls, value: Translations) -> Translations:
        value = _check_translations(value, what="text")
        for lang, text in value.items():
            if len(text) > MAX_PROMPT_CHARS:
                raise ValueError(
                    f"the `{lang}` text has {len(text)} characters; keep prompts under "
                    f"{MAX_PROMPT_CHARS} so they read well in a chat."
                )
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
            unknown = names - PLACEHOLDERS
            if unknown:
                raise ValueError(
                    f"the `{lang}` text uses {{{sorted(unknown)[0]}}}; the only "
                    f"placeholders are {{organisation}}, {{period}} and {{unit}}."
                )
        return value

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.answer is AnswerType.CHOICE:
            if len(self.choices) < 2:
                raise ValueError("a choice prompt needs at least two `choices`.")
            keys = [c.key for c in self.choices]
            if len(set(keys)) != len(keys):
                raise ValueError("two choices share a key; give each choice its own key.")
        elif self.choices:
            raise ValueError(
                f"`choices` only go with `answer: choice` (this one is {self.answer})."
            )
        if self.answer is AnswerType.SCALE and self.scale is None:
            object.__setattr__(self, "scale", Scale())
        elif self.answer is not AnswerType.SCALE and self.scale is not None:
            raise ValueError(f"`scale` only goes with `answer: scale` (this one is {self.answer}).")
        if self.kind is PromptKind.MEASURE:
            if self.answer is not AnswerType.NUMBER or not self.measure:
                raise ValueError("a measure prompt has `answer: number` and names its `measure`.")
        elif self.measure:
            raise ValueError("only `kind: measure` prompts name a `measure`.")
        if self.decimals and self.answer is not AnswerType.NUMBER:
            raise ValueError(
                f"`decimals` only go with `answer: number` (this one is {self.answer})."
            )
        return self

    def text_for(self, locale: str) -> str:
        return pick(self.text, locale)

    def render(
        self, locale: str, *, organisation: str = "", period: str = "", unit: str | None = None
    ) -> str:
        """The prompt's text in ``locale`` with its placeholders filled in."""
        unit_text = unit if unit is not None else (pick(self.unit, locale) if self.unit else "")
        return self.text_for(locale).format(
            organisation=organisation, period=period, unit=unit_text
        )

    def choice_label(self, key: str, locale: str) -> str:
        for choice in self.choices:
            if choice.key == key:
                return pick(choice.label, locale)
        raise KeyError(key)
