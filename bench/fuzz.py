"""Fuzz benchmark: generated input through the parsers and the console of the real bot.

    .venv/bin/python bench/fuzz.py [--parsers N] [--console N] [--seed S]

Parser cases go straight to the answer parser (every answer type, en/fr/de/es), the period
parser and the console's line parser; console cases are typed on the console of the real bot
(``ConsoleApp.handle_line``, a real Runtime and console port on SQLite, ``tests/inputbot.py``).
Prints cases, crashes, half records, unclear replies, unsafe echoes, time and the machine's
load (bench/README.md says what each means). Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from babel.numbers import format_decimal

from adapters.console.translate import MAX_DURATION, Directive, parse_line
from bot.digest.periods import parse_digest_period
from bot.domain.answers import MAX_NUMBER, Answer, parse_answer
from bot.domain.errors import UserError
from bot.domain.periods import FIRST_YEAR, LAST_YEAR, MAX_RANGE_DAYS, Period
from bot.vocabulary import COMMAND_WORDS
from tests.inputbot import (
    ADMIN,
    DEFINITIONS,
    LOCALES,
    PROMPTS,
    STAFF,
    START,
    InputBot,
    a_sentence,
    half_value,
    one_line,
    shown_safely,
    sorry,
)

TODAY = START.date()
ODD = (
    "\u202e\u202d\u2066\u2067\u2068\u2069\u200e\u200f\x00\x1b\x07\x08\x7f\x85\x9b\u2028\ufeff"
    "²³½٣٤۵३０１２Ⅻ"
)
SALT = [*ODD, *"0123456789 .,'-+eE%", *"abcinfNaNsessions"]
SPECIALS = ["inf", "-inf", "Infinity", "NaN", "nan", "1e309", "-1e309", "1E3", "0x10", "1_000", "∞"]
FIGURE_LOCALES = ["en", "fr", "de", "es", "de_CH", "ar", "hi"]
SILENT = ("settle", "say")
"""Lines the console answers with nothing: a settle, chat in a channel."""


class Gen:
    """Seeded generators of what people type."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def anything(self, size: int = 40) -> str:
        r = self.r
        ranges = [(0x20, 0x7E), (0, 0x1F), (0x7F, 0xFF), (0x100, 0x2FFF), (0xD800, 0xDFFF)]
        ranges += [(0x2000, 0x206F), (0x10000, 0x10FFFF)]
        out = []
        for _ in range(r.randint(0, size)):
            low, high = r.choices(ranges, weights=[50, 8, 8, 10, 3, 8, 3])[0]
            out.append(chr(r.randint(low, high)))
        return "".join(out)

    def salted(self) -> str:
        return "".join(self.r.choices(SALT, k=self.r.randint(0, 30)))

    def figure(self) -> str:
        r = self.r
        value = r.randint(0, 2 * MAX_NUMBER) / 10 ** r.choice([0, 0, 1, 2, 3])
        text = format_decimal(
            value, locale=r.choice(FIGURE_LOCALES), group_separator=r.random() < 0.5
        )
        text = r.choice(["", "", "-", "+", "~", "−"]) + text
        if r.random() < 0.3:
            text = text.replace(r.choice([",", ".", "\u202f"]), r.choice(ODD))
        return text + r.choice(["", " sessions", " séances", "e309", " heures h", "%"])

    def answer(self) -> str:
        pick = self.r.random()
        if pick < 0.45:
            return self.figure()
        if pick < 0.55:
            return self.r.choice(SPECIALS)
        if pick < 0.75:
            return self.salted()
        return self.anything()

    def period(self) -> str:
        r = self.r
        year = r.choice([0, 1, 1899, 1900, 2026, 2999, 3000, 9999, 10**6])
        shapes = [
            f"{year:04d}-{r.randint(0, 99):02d}",
            f"{year:04d}-W{r.randint(0, 99)}",
            f"{year:04d}-Q{r.randint(0, 9)}",
            f"{year:04d}-{r.randint(0, 13):02d}-{r.randint(0, 32):02d}",
            f"{r.choice(['october', 'jan', 'q2', 'q9'])} {year}",
            f"2026-01-01..{year:04d}-12-31",
            f"{year:04d}-01-01 to 2026-03-01",
            r.choice(["last week", "this month", "past quarter", "yesterday", ""]),
        ]
        pick = r.random()
        if pick < 0.6:
            return r.choice(shapes) + r.choice(["", " ", "..", "\u202e", "²"])
        return self.salted() if pick < 0.8 else self.anything()

    def ident(self) -> str:
        r = self.r
        pick = r.random()
        if pick < 0.5:
            return str(r.randint(-5, 10**25))
        if pick < 0.8:
            return r.choice(["²", "٣", "#12", "#", "1.5", "0", "2147483648", "١٢", "12a"])
        return self.salted()

    def words(self) -> str:
        return " ".join(self.r.choices(["delete", "export", "pause", "csv", "xlsx"], k=2))

    def duration(self) -> str:
        if self.r.random() < 0.6:
            return f"{self.r.randint(0, 10**25)}{self.r.choice('dhms')}"
        return self.salted() if self.r.random() < 0.5 else self.anything()

    def command(self) -> str:
        r = self.r
        word = r.choice([*sorted(COMMAND_WORDS - {"checkin"}), "nonsense", "\u202ehelp"])
        makers: list[Callable[[], str]] = [self.ident, self.period, self.words, self.anything]
        args = r.choice(makers)()
        line = f"{r.choice(['', '/', '!'])}{word} {args}"
        pick = r.random()
        if pick < 0.1:
            return "wait " + self.duration()
        if pick < 0.15:
            return "as " + self.anything(12)
        if pick < 0.3:
            return "digest " + self.period()
        return line


@dataclass
class Tally:
    cases: int = 0
    refused: int = 0
    """Cases the parser refused with its sentence (the rest were accepted)."""
    crashes: int = 0
    half: int = 0
    unclear: int = 0
    unsafe: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def note(self, what: str, case: str) -> None:
        if len(self.examples) < 3:
            self.examples.append(f"{what}: {case!r}"[:200])


def parser_case(gen: Gen, tallies: dict[str, Tally]) -> str:
    """One case for one parser; returns which."""
    kind = gen.r.choice(["answer parser", "answer parser", "period parser", "command parser"])
    tally = tallies[kind]
    tally.cases += 1
    if kind == "answer parser":
        _answer_case(gen, tally)
    elif kind == "period parser":
        _period_case(gen, tally)
    else:
        _line_case(gen, tally)
    return kind


def _answer_case(gen: Gen, tally: Tally) -> None:
    prompt = DEFINITIONS[gen.r.choice(PROMPTS)]
    text, locale = gen.answer(), gen.r.choice(["en", "fr", "de", "es"])
    try:
        accepted = parse_answer(prompt, text, locale)
    except UserError as exc:
        tally.refused += 1
        if not a_sentence(str(exc)):
            tally.unclear += 1
            tally.note("unclear", text)
        return
    except Exception as exc:
        tally.crashes += 1
        tally.note(type(exc).__name__, text)
        return
    if half_value(prompt, accepted) is not None:
        tally.half += 1
        tally.note("half", text)
    if not shown_safely(accepted.display(prompt, locale)):
        tally.unsafe += 1


def _period_case(gen: Gen, tally: Tally) -> None:
    text = gen.period()
    try:
        period = parse_digest_period(text, TODAY)
        whole = (
            period.start.year >= FIRST_YEAR
            and (period.end - timedelta(days=1)).year <= LAST_YEAR
            and (period.end - period.start).days <= MAX_RANGE_DAYS
            and Period.parse_key(period.key) == period
            and bool(period.label("fr"))
            and period.previous().end == period.start
        )
    except UserError as exc:
        tally.refused += 1
        if not a_sentence(str(exc)):
            tally.unclear += 1
            tally.note("unclear", text)
        return
    except Exception as exc:
        tally.crashes += 1
        tally.note(type(exc).__name__, text)
        return
    if not whole:
        tally.half += 1
        tally.note("half", text)


def _line_case(gen: Gen, tally: Tally) -> None:
    line = gen.command() if gen.r.random() < 0.7 else gen.anything()
    try:
        parsed = parse_line(line, "ena", START)
    except ValueError as exc:
        tally.refused += 1
        if not (line.split()[0].lower() in ("wait", "advance") and a_sentence(str(exc))):
            tally.unclear += 1
            tally.note("unclear", line)
        return
    except Exception as exc:
        tally.crashes += 1
        tally.note(type(exc).__name__, line)
        return
    if isinstance(parsed, Directive) and not 0 <= parsed.seconds <= MAX_DURATION.total_seconds():
        tally.half += 1
        tally.note("half", line)


async def console_answer(bot: InputBot, gen: Gen, tally: Tally) -> None:
    member, prompt_id = gen.r.choice(sorted(LOCALES)), gen.r.choice(PROMPTS)
    prompt = DEFINITIONS[prompt_id]
    line = f"reply {bot.refs[(member, prompt_id)]} {one_line(gen.answer())}"
    event = bot.event(member, line)
    try:
        expected: Answer | None = parse_answer(prompt, getattr(event, "text", ""), LOCALES[member])
    except UserError:
        expected = None
    before, counts = await bot.stored(member, prompt_id), await bot.counts()
    tally.cases += 1
    tally.refused += expected is None
    try:
        printed = await bot.line(member, line)
    except Exception as exc:
        tally.crashes += 1
        tally.note(type(exc).__name__, line)
        return
    after = await bot.stored(member, prompt_id)
    if expected is None:
        half = after != before or await bot.counts() != counts
        clear = len(printed) == 1 and a_sentence(printed[0])
    else:
        got = None if after is None else Answer(after.text, after.number, after.choice)
        half = got != Answer(expected.text, expected.number, expected.choice)
        half = half or got is None or half_value(prompt, got) is not None
        clear = len(printed) == 1 and not sorry(printed)
    tally.half += half
    tally.unclear += not clear
    tally.unsafe += not all(shown_safely(text) for text in printed)
    if half or not clear:
        tally.note("half" if half else "unclear", line)


async def console_command(bot: InputBot, gen: Gen, tally: Tally) -> None:
    line = one_line(gen.command())
    try:
        parse_line(line, STAFF, START)
    except ValueError:
        pass
    else:
        if line.split()[:1] in (["wait"], ["advance"]):
            return  # a wait the console accepts would really wait
    counts = await bot.counts()
    tally.cases += 1
    try:
        printed = await bot.line(gen.r.choice([STAFF, ADMIN]), line)
    except Exception as exc:
        tally.crashes += 1
        tally.note(type(exc).__name__, line)
        return
    half = await bot.counts() != counts
    silent = not line.strip() or line.split()[0].lower() in SILENT or line.lstrip()[:1] == "#"
    clear = (silent or bool(printed)) and not sorry(printed)
    tally.half += half
    tally.unclear += not clear
    tally.unsafe += not all(shown_safely(text) for text in printed)
    if half or not clear:
        tally.note("half" if half else "unclear", line)


async def console_cases(count: int, gen: Gen, tallies: dict[str, Tally]) -> int:
    """Returns the ERROR log records the bot wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        bot = InputBot(Path(tmp), f"sqlite+aiosqlite:///{Path(tmp) / 'fuzz.db'}")
        await bot.start()
        try:
            for n in range(count):
                if len(bot.port.messages) > 1000:
                    bot.port.messages.clear()
                    bot.printed.clear()
                answers = n % 2 == 0
                tally = tallies["console answers" if answers else "console commands"]
                started = time.perf_counter()
                await (console_answer if answers else console_command)(bot, gen, tally)
                tally.seconds += time.perf_counter() - started
            for member in LOCALES:  # the final scan: every stored answer whole
                for prompt_id in PROMPTS:
                    found = await bot.stored(member, prompt_id)
                    got = None if found is None else Answer(found.text, found.number, found.choice)
                    if got is not None and half_value(DEFINITIONS[prompt_id], got) is not None:
                        tallies["console answers"].half += 1
            return len(bot.errors.records)
        finally:
            await bot.stop()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def report(tallies: dict[str, Tally], errors: int, wall: float) -> None:
    columns = ("cases", "refused", "crashes", "half rec.", "unclear", "unsafe", "time s")
    print(f"{'':18}" + "".join(f"{c:>10}" for c in columns))
    total = Tally()
    for name, t in tallies.items():
        refused = "-" if name == "console commands" else f"{t.refused:,}"
        print(
            f"{name:18}{t.cases:>10,}{refused:>10}{t.crashes:>10,}{t.half:>10,}"
            f"{t.unclear:>10,}{t.unsafe:>10,}{t.seconds:>10.1f}"
        )
        for key in ("cases", "crashes", "half", "unclear", "unsafe"):
            setattr(total, key, getattr(total, key) + getattr(t, key))
    print(
        f"{'total':18}{total.cases:>10,}{'':>10}{total.crashes:>10,}{total.half:>10,}"
        f"{total.unclear:>10,}{total.unsafe:>10,}{wall:>10.1f}"
    )
    print(f"ERROR log records written by the bot: {errors}")
    for name, t in tallies.items():
        for example in t.examples:
            print(f"  e.g. {name}: {example}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parsers", type=int, default=100_000, help="cases for the parsers")
    parser.add_argument("--console", type=int, default=5_000, help="cases typed on the console")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    print(f"fuzz: {args.parsers:,} parser cases, {args.console:,} console cases, seed {args.seed}")
    print(f"load at start: {load()}")
    gen = Gen(args.seed)
    tallies = {
        name: Tally()
        for name in (
            "answer parser",
            "period parser",
            "command parser",
            "console answers",
            "console commands",
        )
    }
    started = time.perf_counter()
    for _ in range(args.parsers):
        before = time.perf_counter()
        kind = parser_case(gen, tallies)
        tallies[kind].seconds += time.perf_counter() - before
    errors = asyncio.run(console_cases(args.console, gen, tallies))
    report(tallies, errors, time.perf_counter() - started)
    print(f"load at end: {load()}")


if __name__ == "__main__":
    main()
