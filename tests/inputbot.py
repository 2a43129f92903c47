"""A console bot to type strange input at: members in four languages, one prompt of each answer
type open for each of them, and a view of what was stored.

Lines go through the real console adapter (``ConsoleApp.handle_line``: its line translation,
then the Runtime, then the console port's printed replies), as a person at the terminal types
them. Used by tests/test_input_limits.py, tests/test_input_properties.py and bench/fuzz.py.
"""

from __future__ import annotations

import logging
import math
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, select

from adapters.console.app import ConsoleApp
from adapters.console.translate import parse_line
from bot.domain.answers import MAX_NUMBER, Answer
from bot.domain.prompts import PromptDef
from bot.domain.values import AnswerType
from bot.events import InboundEvent
from bot.service import SORRY
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, CheckInRevision, Delivery
from bot.text import BIDI_CONTROLS
from tests.harnesses.console import ConsoleHarness

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
"""A Monday; the campaign fires at 09:00 UTC."""
LOCALES = {"ena": "en", "fra": "fr", "deu": "de", "esp": "es"}
"""The members who answer, and their languages."""
STAFF, ADMIN = "bo", "ada"
PROMPTS = ("in-count", "in-hours", "in-scale", "in-choice", "in-text")

ALLIANCE = textwrap.dedent("""\
    alliance: {name: Input Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
      - {slug: hub, name: The Hub, country: FR, timezone: UTC}
      - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: UTC}
    members:
      - {id: ena, name: Ena, organisation: lib, locale: en}
      - {id: fra, name: Fra, organisation: hub, locale: fr}
      - {id: deu, name: Deu, organisation: lib, locale: de}
      - {id: esp, name: Esp, organisation: hub, locale: es}
      - {id: bo, name: Bo, organisation: backbone, role: backbone}
      - {id: ada, name: Ada, organisation: backbone, role: admin}
    prompts:
      - id: in-count
        kind: exercise
        answer: number
        conditions: [shared_measurement]
        unit: {en: sessions, fr: séances, es: sesiones, de: Sitzungen}
        text: {en: "How many sessions did you run?"}
      - id: in-hours
        kind: exercise
        answer: number
        decimals: 2
        conditions: [shared_measurement]
        unit: {en: hours, fr: heures, es: horas, de: Stunden}
        text: {en: "How many volunteer hours?"}
      - id: in-scale
        kind: exercise
        answer: scale
        scale: {min: 1, max: 5}
        conditions: [continuous_communication]
        text: {en: "How informed do you feel?"}
      - id: in-choice
        kind: exercise
        answer: choice
        conditions: [common_agenda]
        text: {en: "Did you meet a partner?"}
        choices:
          - {key: "yes", label: {en: "Yes", fr: "Oui", es: "Sí", de: "Ja"}}
          - {key: "no", label: {en: "No", fr: "Non", es: "No", de: "Nein"}}
          - {key: later, label: {en: "Not yet", fr: "Pas encore", es: "Aún no", de: "Noch nicht"}}
      - id: in-text
        kind: exercise
        answer: text
        conditions: [common_agenda]
        text: {en: "Name a barrier you met."}
    campaigns:
      - key: daily
        name: Daily
        prompts: [in-count, in-hours, in-scale, in-choice, in-text]
        ask: all at once   # odd input goes to every kind of question at once
        audience: {roles: [member]}
        schedule: "0 9 * * *"
""")


DEFINITIONS = {p["id"]: PromptDef.model_validate(p) for p in yaml.safe_load(ALLIANCE)["prompts"]}
"""The prompts above, for the parsers on their own."""


@dataclass(frozen=True)
class Stored:
    """One member's check-in for one prompt, as the database holds it (None: no check-in)."""

    text: str
    number: float | None
    choice: str | None
    revisions: int


class ErrorLog(logging.Handler):
    """Log records at ERROR or above (a traceback in the log is one)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class InputBot:
    """The console bot with every prompt open for every member who answers."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.harness = ConsoleHarness(tmp_path, url, START, ALLIANCE)
        self.runtime = self.harness.runtime
        self.port = self.harness.port
        self.printed: list[str] = []
        self.app = ConsoleApp(self.runtime, self.port, self.printed.append, me=ADMIN)
        self.refs: dict[tuple[str, str], str] = {}
        """(member, prompt id) -> the console ref of the prompt they were sent."""
        self.prompts: dict[str, PromptDef] = {}
        self.errors = ErrorLog()

    async def start(self) -> None:
        await self.runtime.start()
        await self.runtime.advance(START + timedelta(hours=1, minutes=1))
        async with self.runtime.db.session() as s:
            self.prompts = await load_prompts(s)
            by_id = {d.id: d for d in (await s.scalars(select(Delivery))).all()}
        for message in self.port.messages:
            delivery = by_id.get(message.delivery_id or 0)
            if delivery is not None and delivery.prompt_id:
                self.refs[(message.to, delivery.prompt_id)] = message.ref
        missing = {(m, p) for m in LOCALES for p in PROMPTS} - set(self.refs)
        assert not missing, f"prompts not sent: {sorted(missing)}"
        logging.getLogger().addHandler(self.errors)

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        await self.runtime.stop()

    async def line(self, member: str, line: str) -> list[str]:
        """Type ``line`` as ``member``: what the console printed for it (its replies, or a
        ``!`` sentence of the console's own). Raises whatever escapes the console."""
        self.app.me = member
        before_printed, before_sent = len(self.printed), len(self.port.messages)
        keep_going = await self.app.handle_line(line)
        assert keep_going or line.strip().lower().split()[:1] in (["quit"], ["exit"])
        replies = [
            m.text + ("\n" + m.quoted if m.quoted else "")
            for m in self.port.messages[before_sent:]
            if m.kind == "reply"
        ]
        return self.printed[before_printed:] + replies

    def event(self, member: str, line: str) -> InboundEvent | None:
        """The event the console makes of ``line`` (None for a directive or a blank line)."""
        parsed = parse_line(line, member, self.runtime.clock.now())
        return parsed if isinstance(parsed, InboundEvent) else None

    async def stored(self, member: str, prompt_id: str) -> Stored | None:
        async with self.runtime.db.session() as s:
            row = await s.scalar(
                select(CheckIn)
                .join(m.Member, m.Member.id == CheckIn.member_id)
                .where(m.Member.handle == member, CheckIn.prompt_id == prompt_id)
            )
            if row is None:
                return None
            revisions = await s.scalar(
                select(func.count())
                .select_from(CheckInRevision)
                .where(CheckInRevision.checkin_id == row.id)
            )
            return Stored(row.answer_text, row.answer_number, row.answer_choice, revisions or 0)

    async def counts(self) -> tuple[int, int]:
        """Check-ins and revisions in the whole database."""
        async with self.runtime.db.session() as s:
            checkins = await s.scalar(select(func.count()).select_from(CheckIn))
            revisions = await s.scalar(select(func.count()).select_from(CheckInRevision))
            return checkins or 0, revisions or 0


def sorry(printed: list[str]) -> bool:
    """True when the bot said it failed (the generic apology), not a sentence about the input."""
    return any(str(SORRY) in text or "Sorry, that did not work" in text for text in printed)


def shown_safely(text: str) -> bool:
    """No bidi control, and no control character but newline and tab."""
    return not any(c in BIDI_CONTROLS or (ord(c) < 32 and c not in "\n\t") for c in text)


def a_sentence(text: str) -> bool:
    """A clear reply: some words, no control character, not the generic apology."""
    return len(text.split()) >= 3 and shown_safely(text) and not sorry([text])


def one_line(text: str) -> str:
    """What survives of ``text`` on one console line (line breaks become spaces)."""
    return "".join(" " if c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029" else c for c in text)


def half_value(prompt: PromptDef, answer: Answer) -> str | None:
    """What is not whole in an accepted answer for ``prompt`` (None: it is whole)."""
    number = answer.number
    if prompt.answer in (AnswerType.NUMBER, AnswerType.SCALE):
        if number is None or not math.isfinite(number):
            return f"the figure {number} is not finite"
        if prompt.answer is AnswerType.NUMBER and not 0 <= number <= MAX_NUMBER:
            return f"the figure {number} is out of bounds"
        if prompt.answer is AnswerType.NUMBER and round(number, prompt.decimals) != number:
            return f"the figure {number} has more than {prompt.decimals} decimals"
        scale = prompt.scale
        if scale is not None and not (scale.min <= number <= scale.max and number == int(number)):
            return f"the scale value {number} is not one of {scale.min}..{scale.max}"
        if scale is not None and answer.choice != str(int(number)):
            return f"the scale value {number} is stored as choice {answer.choice!r}"
    elif prompt.answer is AnswerType.CHOICE and answer.choice not in {
        c.key for c in prompt.choices
    }:
        return f"{answer.choice!r} is not a choice"
    elif prompt.answer is AnswerType.TEXT and (not answer.text.strip() or "\x00" in answer.text):
        return f"the text {answer.text!r} is empty or holds a NUL"
    return None
