"""In a direct chat, small talk and a mistyped command are not answers (issue 15, point 1):
“thanks!” after an acknowledgement, “merci !”, “ok” or 👍 store nothing and get no reply, and
“chekin Our barrier…” gets “did you mean checkin?” instead of being stored."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chatter import mistyped_command, small_talk
from bot.storage.records import CheckIn
from tests.harnesses.console import ConsoleHarness

MONDAY_7 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Chatter, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: FR, timezone: UTC}
    members:
      - {id: lea, name: Léa, organisation: lib, locale: fr}
    campaigns:
      - {key: barrier, name: Barrier, prompts: [name-a-barrier], schedule: "0 8 * * MON"}
      - {key: meet, name: Meet, prompts: [comms-two-people-should-meet], schedule: "0 9 * * MON"}
      - {key: informed, name: Informed, prompts: [comms-feel-informed], schedule: "0 9 * * MON"}
""")


@pytest.mark.parametrize(
    "text",
    ["thanks!", "Merci !", "merci beaucoup", "OK", "ok 👍", "👍", "🙏🏽", "Gracias.", "danke"],
)
def test_courtesies_and_emoji_are_small_talk(text: str) -> None:
    assert small_talk(text)


@pytest.mark.parametrize(
    "text", ["No shared calendar.", "ok, but funding is the barrier", "3", "Thanks to Ana we met"]
)
def test_answers_are_not_small_talk(text: str) -> None:
    assert not small_talk(text)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("chekin Our barrier", "checkin"),
        ("digets", "digest"),
        ("mydaat", "mydata"),
        ("bakc", "back"),
        ("awya", "away"),
        ("hepl", "help"),
    ],
)
def test_a_command_with_a_typo_is_recognised(text: str, meant: str) -> None:
    assert mistyped_command(text) == meant


@pytest.mark.parametrize(
    "text",
    [
        "Shared a room with the NGO",
        "started a reading club",
        "Helped two partners",
        "skip",
        "Bank holidays slowed us down",
        "Buck stops here",
        "Ship arrived late",
    ],
)
def test_ordinary_words_are_not_typos(text: str) -> None:
    assert mistyped_command(text) is None


@pytest.fixture
async def h(tmp_path: Path, sqlite_url: str) -> AsyncIterator[ConsoleHarness]:
    harness = ConsoleHarness(tmp_path, sqlite_url, MONDAY_7, ALLIANCE)
    await harness.runtime.start()
    try:
        yield harness
    finally:
        await harness.runtime.stop()


async def stored(h: ConsoleHarness) -> list[str]:
    async with h.runtime.db.session() as s:
        return [str(c.answer_text) for c in await s.scalars(select(CheckIn).order_by(CheckIn.id))]


async def test_a_typo_and_small_talk_store_nothing(h: ConsoleHarness) -> None:
    await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))  # the barrier prompt
    typo = await h.say("lea", "chekin Pas de calendrier partagé")
    assert len(typo) == 1 and "Vouliez-vous dire «\u00a0checkin\u00a0»\u202f?" in typo[0]  # fr
    assert await stored(h) == []
    thanked = await h.say("lea", "Pas de calendrier partagé avec nos partenaires.")
    assert thanked and await stored(h) == ["Pas de calendrier partagé avec nos partenaires."]
    assert await h.say("lea", "merci !") == []  # no reply, nothing stored
    await h.runtime.advance(MONDAY_7 + timedelta(hours=2, minutes=1))  # two questions open
    for courtesy in ("ok", "👍", "Merci beaucoup !"):
        assert await h.say("lea", courtesy) == []
    assert len(await stored(h)) == 1  # neither open question took a courtesy as its answer
