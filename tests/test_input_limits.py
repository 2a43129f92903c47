"""Every input has limits, and the limits are named: figures, ids, periods, durations and echoed
text, typed on the console of the real bot (in process, and one real ``alliance-bot run``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.botprocess import BotProcess, bot_env
from tests.inputbot import ALLIANCE, InputBot, shown_safely, sorry


@pytest.fixture
async def bot(tmp_path: Path, sqlite_url: str) -> AsyncIterator[InputBot]:
    typed = InputBot(tmp_path, sqlite_url)
    await typed.start()
    try:
        yield typed
    finally:
        await typed.stop()


async def answer(bot: InputBot, member: str, prompt: str, text: str) -> str:
    [reply] = await bot.line(member, f"reply {bot.refs[(member, prompt)]} {text}")
    return reply


@pytest.mark.parametrize(
    ("member", "prompt", "typed", "stored"),
    [
        ("fra", "in-hours", "1 250,5", 1250.5),
        ("fra", "in-count", "1\u202f250 séances", 1250),
        ("deu", "in-count", "1.250", 1250),
        ("deu", "in-hours", "12,5 Stunden", 12.5),
        ("ena", "in-hours", "1,250.5", 1250.5),
        ("ena", "in-count", "1 250", 1250),
        ("esp", "in-count", "1.250", 1250),
        ("ena", "in-count", "٣٤", 34),
    ],
)
async def test_figures_are_read_the_way_each_member_writes_them(
    bot: InputBot, member: str, prompt: str, typed: str, stored: float
) -> None:
    reply = await answer(bot, member, prompt, typed)
    found = await bot.stored(member, prompt)
    assert found is not None and found.number == stored, reply
    assert found.text == typed


async def test_inf_nan_and_figures_out_of_bounds_are_refused_and_nothing_is_stored(
    bot: InputBot,
) -> None:
    refused = {
        "inf": "could not read a number in “inf”",
        "-Infinity": "could not read a number",
        "1e309": "could not read a number in “1e309”",
        "NaN": "could not read a number in “NaN”",
        "99999999999": "figures go up to 1,000,000,000",
        "-3": "cannot be negative",
        "2.5 sessions": "a count, so it takes a whole number",
        "1.250": "“.” marks decimals; a thousand and more is written like 1,250",
        "12 and 13": "could not read a number",
    }
    for typed, why in refused.items():
        reply = await answer(bot, "ena", "in-count", typed)
        assert why in reply and "nothing was saved" in reply.lower(), reply
    assert "decimal place" in await answer(bot, "ena", "in-hours", "2.125")
    german = await answer(bot, "deu", "in-hours", "12.5")
    assert "In German, write thousands and decimals like this: 1.250,5" in german
    for typed in ("1e309", "NaN", "inf", "3.5", "9", "²", "-1"):
        reply = await answer(bot, "ena", "in-scale", typed)
        assert "whole number from 1 to 5" in reply and "Nothing was saved" in reply, reply
    assert await bot.counts() == (0, 0)
    assert "Thank you" in await answer(bot, "ena", "in-scale", "4")
    assert "Thank you" in await answer(bot, "ena", "in-count", "12 sessions")
    assert await bot.counts() == (2, 0)
    assert bot.errors.records == []


async def test_ids_periods_and_durations_are_checked_before_use(bot: InputBot) -> None:
    said = {
        "star ²": "Tell me which check-in, by its number",
        "star 99999999999999999999": "Tell me which check-in, by its number",
        "unstar ٣": "You have no check-in #3",
        "mydata delete ²": "Tell me which check-in to delete by its number",
        "mydata delete 12345678901234567890": "Tell me which check-in to delete",
        "digest 9999-12": "Periods lie between the years 1900 and 2999; 9999 is outside",
        "digest october 0000": "Periods lie between the years 1900 and 2999; 0 is outside",
        "digest 1900-01-01..2999-12-31": "a period covers at most 366 days",
        "digest " + "x.." * 300: "I could not read the period",
        "digest 2026-W99": "I could not read the period “2026-W99”",
        "wait 99999999999999999999d": "too long to wait or advance: the most is 366d",
        "advance 400d": "too long to wait or advance",
        "wait ²s": "is not a duration",
    }
    for line, sentence in said.items():
        printed = await bot.line("bo", line)
        assert any(sentence in text for text in printed), (line, printed)
        assert not sorry(printed), (line, printed)
    assert await bot.line("bo", "whoami") == ["You are bo."]
    assert "week 44 of 2026" in (await bot.line("bo", "digest ２０２６-W44"))[0]
    assert bot.errors.records == []
    assert await bot.counts() == (0, 0)


async def test_echoed_text_cannot_reverse_or_control_the_bots_sentences(
    tmp_path: Path, db_url: str
) -> None:
    bot = InputBot(tmp_path, db_url)
    await bot.start()
    try:
        typed = "\u202eevil\u2066 \x1b[2J\x00nul \x9bc1"
        reply = await answer(bot, "ena", "in-text", typed)
        assert reply.startswith("Thank you! Recorded for week 48 of 2026:\n")
        assert reply.endswith("evil �[2Jnul �c1")
        found = await bot.stored("ena", "in-text")
        assert found is not None and found.text == typed.replace("\x00", "")  # kept as typed
        again = await answer(bot, "ena", "in-text", "plain\u202e")
        assert "(it was “evil �[2Jnul �c1”)" in again
        printed = [
            *await bot.line("ena", "/\u202eoops\x1b]0;title\x07"),
            *await bot.line("ena", f"reply {bot.refs[('ena', 'in-choice')]} \u202eperhaps"),
            *await bot.line("ena", f"reply {bot.refs[('ena', 'in-scale')]} \u2067\x1b7"),
            *await bot.line("ena", "mydata"),
            *await bot.line("ada", "campaign pause \u202edaily"),
            *await bot.line("bo", "digest \u202e2026-10\x1b[0m"),
            *await bot.line("bo", "wait \u202e5s"),
        ]
        assert all(shown_safely(text) for text in [reply, again, *printed]), printed
        assert "I don't know the command “oops�]0;title�”" in printed[0]
        assert "“perhaps” is not one of the choices" in printed[1]
        assert bot.errors.records == []
    finally:
        await bot.stop()


async def test_a_running_bot_answers_bad_lines_and_keeps_running(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The real ``alliance-bot run`` with its console on a pipe: each line gets its sentence,
    the next line is still answered, and SIGTERM ends it cleanly with no traceback logged."""
    file = tmp_path / "alliance.yaml"
    file.write_text(ALLIANCE, encoding="utf-8")
    env = bot_env(sqlite_url, tmp_path / "data", ALLIANCE_FILE=str(file), CONSOLE__ENABLED="true")
    bot = BotProcess(env, tmp_path / "bot.log")

    def said(sentence: str) -> Callable[[], bool]:
        return lambda: sentence in bot.tail(20_000)

    await bot.start()
    try:
        await bot.until(lambda: "You are ada" in bot.tail(), "the console's greeting")
        for line, sentence in (
            ("wait 99999999999999999999d", "too long to wait or advance"),
            ("star ²", "Tell me which check-in, by its number"),
            ("star 99999999999999999999", "Tell me which check-in, by its number"),
            ("digest 9999-12", "9999 is outside"),
            ("mydata delete 12345678901234567890", "Tell me which check-in to delete"),
        ):
            bot.type(line)
            await bot.until(said(sentence), f"the reply to {line!r}")
        bot.type("whoami")
        await bot.until(lambda: "You are ada." in bot.tail(), "the reply to whoami")
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.tail(100_000)
    finally:
        await bot.close()
