"""Property-based tests (hypothesis) of what people type: the command parser, the answer parser
for every answer type and language, the period parser and durations. Each checks that nothing
raises, that bad input gets a clear sentence, and that nothing is half stored: the parsers on
their own, and the same input typed on the console of the real bot (one Runtime for the module,
on SQLite), where refused input leaves the check-ins as they were."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from babel.numbers import format_decimal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import event as event_kind
from hypothesis import strategies as st

from adapters.console.translate import MAX_DURATION, Directive, parse_line
from bot.digest.periods import parse_digest_period
from bot.domain.answers import MAX_NUMBER, Answer, babel_locale, parse_answer
from bot.domain.errors import UserError
from bot.domain.periods import FIRST_YEAR, LAST_YEAR, MAX_RANGE_DAYS, Period
from bot.domain.prompts import PromptDef
from bot.events import InboundEvent
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

T = TypeVar("T")
FAST = settings(max_examples=300, deadline=None, database=None)
THROUGH_THE_BOT = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TODAY = START.date()

# --- what people type ------------------------------------------------------------------------

ODD = (
    "\u202e\u202d\u2066\u2067\u2068\u2069\u200e\u200f\x00\x1b\x07\x08\x7f\x85\x9b\u2028\ufeff"
    "²³½٣٤۵३０１２Ⅻ"
)
anything = st.text(st.characters(exclude_categories=[]), max_size=40)
"""Any code points at all, lone surrogates and controls included."""
salted = st.text(st.sampled_from([*ODD, *"0123456789 .,'-+eE%", *"abcinfNaNsessions"]), max_size=30)
"""Short texts made mostly of digits, separators, controls and odd digits."""


@st.composite
def figures(draw: st.DrawFn) -> str:
    """A figure written some member's way, sometimes slightly wrong."""
    value = draw(
        st.one_of(
            st.integers(0, 2 * MAX_NUMBER),
            st.decimals(0, 2 * MAX_NUMBER, places=draw(st.integers(0, 3)), allow_nan=False),
        )
    )
    locale = draw(st.sampled_from(["en", "fr", "de", "es", "de_CH", "ar", "hi"]))
    text = format_decimal(value, locale=locale, group_separator=draw(st.booleans()))
    text = draw(st.sampled_from(["", "-", "+", "~", "−"])) + text
    if draw(st.booleans()):
        text = text.replace(draw(st.sampled_from([",", ".", "\u202f"])), draw(st.sampled_from(ODD)))
    return text + draw(st.sampled_from(["", " sessions", " séances", "e309", " heures h", "%"]))


specials = st.sampled_from(
    ["inf", "-inf", "Infinity", "NaN", "nan", "1e309", "-1e309", "1E3", "0x10", "1_000", "∞"]
)
answers = st.one_of(figures(), specials, salted, anything)


@st.composite
def periods(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from([0, 1, 1899, 1900, 2026, 2999, 3000, 9999, 10**6]))
    shapes = [
        f"{year:04d}-{draw(st.integers(0, 99)):02d}",
        f"{year:04d}-W{draw(st.integers(0, 99))}",
        f"{year:04d}-Q{draw(st.integers(0, 9))}",
        f"{year:04d}-{draw(st.integers(0, 13)):02d}-{draw(st.integers(0, 32)):02d}",
        f"{draw(st.sampled_from(['october', 'jan', 'q2', 'q9']))} {year}",
        f"2026-01-01..{year:04d}-12-31",
        f"{year:04d}-01-01 to 2026-03-01",
        draw(st.sampled_from(["last week", "this month", "past quarter", "yesterday", ""])),
    ]
    return draw(st.sampled_from(shapes)) + draw(st.sampled_from(["", " ", "..", "\u202e", "²"]))


period_texts = st.one_of(periods(), salted, anything)
ids = st.one_of(
    st.integers(-5, 10**25).map(str),
    st.sampled_from(["²", "٣", "#12", "#", "1.5", "0", "2147483648", "١٢", "12a"]),
    salted,
)
command_lines = st.builds(
    lambda word, prefix, args: f"{prefix}{word} {args}",
    st.sampled_from(sorted(COMMAND_WORDS - {"checkin"}) + ["unstar", "nonsense", "\u202ehelp"]),
    st.sampled_from(["", "/", "!"]),
    st.one_of(
        ids,
        period_texts,
        st.builds(" ".join, st.lists(st.sampled_from(["delete", "export", "pause", "csv"]))),
        anything,
    ),
)
durations = st.one_of(
    st.builds(lambda n, unit: f"{n}{unit}", st.integers(0, 10**25), st.sampled_from("dhms")),
    salted,
    anything,
)


# --- the parsers on their own ----------------------------------------------------------------


def attempt(call: Callable[[], T], refused: type[Exception]) -> tuple[T | None, str | None]:
    """``call``'s result, or the sentence of the ``refused`` exception it raised."""
    try:
        return call(), None
    except refused as exc:
        return None, str(exc)


def check_accepted(prompt: PromptDef, answer: Answer) -> None:
    """What an accepted answer holds: a whole value, echoed safely."""
    assert half_value(prompt, answer) is None, half_value(prompt, answer)
    assert shown_safely(answer.display(prompt, "en"))


@FAST
@given(st.sampled_from(PROMPTS), st.sampled_from(["en", "fr", "de", "es"]), answers)
@example("in-count", "en", "10000000000000000000000000")  # too big for Babel to round
def test_the_answer_parser_reads_or_refuses_any_text(
    prompt_id: str, locale: str, text: str
) -> None:
    prompt = DEFINITIONS[prompt_id]
    answer, refusal = attempt(lambda: parse_answer(prompt, text, locale), UserError)
    if answer is None:
        assert refusal is not None and a_sentence(refusal), refusal
        return
    check_accepted(prompt, answer)


@FAST
@given(
    st.sampled_from(["in-count", "in-hours"]),
    st.sampled_from(["en", "fr", "de", "es", "de-CH", "pt_BR"]),
    st.integers(0, MAX_NUMBER * 100),
    st.booleans(),
)
def test_a_figure_written_for_a_language_reads_back_in_it(
    prompt_id: str, locale: str, hundredths: int, grouped: bool
) -> None:
    prompt = DEFINITIONS[prompt_id]
    value = Decimal(hundredths).scaleb(-2 if prompt.decimals else 0)
    if value > MAX_NUMBER:
        return
    typed = format_decimal(value, locale=babel_locale(locale), group_separator=grouped)
    answer = parse_answer(prompt, typed, locale)
    assert answer.number == float(value)
    assert parse_answer(prompt, answer.display(prompt, locale), locale).number == answer.number


@FAST
@given(period_texts)
def test_the_period_parser_reads_or_refuses_any_text(text: str) -> None:
    period, refusal = attempt(lambda: parse_digest_period(text, TODAY), UserError)
    if period is None:
        assert refusal is not None and a_sentence(refusal), refusal
        return
    assert period.start.year >= FIRST_YEAR and (period.end - timedelta(days=1)).year <= LAST_YEAR
    assert (period.end - period.start).days <= MAX_RANGE_DAYS
    assert Period.parse_key(period.key) == period
    for locale in ("en", "fr", "es", "de"):
        assert period.label(locale)
    assert period.previous().end == period.start and period.next().start == period.end


@FAST
@given(
    st.one_of(
        command_lines, durations.map("wait ".__add__), durations.map("advance ".__add__), anything
    )
)
def test_the_command_parser_reads_or_refuses_any_line(line: str) -> None:
    parsed, refusal = attempt(lambda: parse_line(line, "ena", START), ValueError)
    if refusal is not None:
        assert line.split()[0].lower() in ("wait", "advance") and a_sentence(refusal), refusal
        return
    if isinstance(parsed, Directive):
        assert 0 <= parsed.seconds <= MAX_DURATION.total_seconds()
    else:
        assert parsed is None or isinstance(parsed, InboundEvent)


# --- the same, typed on the console of the real bot ------------------------------------------


class Console:
    """One InputBot for the module, driven from synchronous hypothesis tests."""

    def __init__(self, tmp: Path) -> None:
        self.runner = asyncio.Runner()
        self.bot = InputBot(tmp, f"sqlite+aiosqlite:///{tmp / 'bot.db'}")
        self.run(self.bot.start())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(work)

    def close(self) -> None:
        try:
            self.run(self.bot.stop())
        finally:
            self.runner.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    made = Console(tmp_path_factory.mktemp("console"))
    try:
        yield made
        assert made.bot.errors.records == [], [r.getMessage() for r in made.bot.errors.records]
    finally:
        made.close()


@THROUGH_THE_BOT
@given(st.sampled_from(sorted(LOCALES)), st.sampled_from(PROMPTS), answers.map(one_line))
def test_any_answer_typed_is_stored_whole_or_refused_with_nothing_stored(
    console: Console, member: str, prompt_id: str, text: str
) -> None:
    bot, prompt = console.bot, DEFINITIONS[prompt_id]
    line = f"reply {bot.refs[(member, prompt_id)]} {text}"
    event = bot.event(member, line)
    assert event is not None
    try:
        expected: Answer | None = parse_answer(prompt, getattr(event, "text", ""), LOCALES[member])
    except UserError:
        expected = None
    event_kind("refused" if expected is None else "accepted")
    before, counts = console.run(bot.stored(member, prompt_id)), console.run(bot.counts())
    printed = console.run(bot.line(member, line))
    after = console.run(bot.stored(member, prompt_id))
    assert len(printed) == 1 and shown_safely(printed[0]) and not sorry(printed), printed
    if expected is None:
        assert after == before and console.run(bot.counts()) == counts, printed
        assert a_sentence(printed[0])
        return
    assert after is not None, printed
    assert (after.text, after.number, after.choice) == (
        expected.text,
        expected.number,
        expected.choice,
    )
    check_accepted(prompt, Answer(after.text, after.number, after.choice))


@THROUGH_THE_BOT
@given(
    st.sampled_from([STAFF, ADMIN]),
    st.one_of(
        command_lines,
        st.builds("digest {}".format, period_texts),
        st.builds("wait {}".format, durations).filter(lambda line: _refused(line)),
        st.builds("as {}".format, anything),
    ).map(one_line),
)
def test_any_command_line_gets_a_clear_reply_and_changes_no_check_in(
    console: Console, who: str, line: str
) -> None:
    bot = console.bot
    counts = console.run(bot.counts())
    printed = console.run(bot.line(who, line))
    silent = attempt(lambda: parse_line(line, who, START), ValueError) == (None, None)
    assert silent or printed, line
    assert all(shown_safely(text) for text in printed) and not sorry(printed), printed
    assert console.run(bot.counts()) == counts


def _refused(line: str) -> bool:
    """Only the waits the console refuses: a real one would sleep."""
    return attempt(lambda: parse_line(line, STAFF, START), ValueError)[1] is not None


def test_no_check_in_holds_a_half_value(console: Console) -> None:
    """After everything above: each stored answer is whole for its prompt."""
    bot = console.bot
    for member in LOCALES:
        for prompt_id in PROMPTS:
            found = console.run(bot.stored(member, prompt_id))
            if found is not None:
                check_accepted(
                    DEFINITIONS[prompt_id], Answer(found.text, found.number, found.choice)
                )
