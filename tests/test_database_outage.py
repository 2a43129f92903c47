"""PostgreSQL stopped for 30 s under the real bot process: the bot keeps running, an answer typed
during the outage is stored once the database is back, and the log says so once, without a
traceback per attempt."""

from __future__ import annotations

import asyncio
import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.console.port import ConsolePort
from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.storage.database import Database
from bot.storage.models import Member
from bot.storage.records import CheckIn
from tests.botprocess import BotProcess, bot_env
from tests.pgserver import PostgresServer, PostgresUnavailable

OUTAGE_SECONDS = 30
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Outage Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: City Library, kind: library, country: DE, timezone: UTC}
    members:
      - {id: ada, name: Ada, organisation: lib, role: admin}
      - {id: berta, name: Berta, organisation: lib}
      - {id: sam, name: Sam, organisation: lib}
    campaigns:
      - key: pulse
        name: Pulse
        prompts: [name-a-barrier]
        schedule: "0 9 * * *"
        timezone: UTC
    """)
PROMPT = re.compile(r"\(answer as (\w+): reply (\S+) <answer>\)")


async def prepare(url: str, file: Path) -> None:
    """Yesterday's 09:00 prompts, due and not sent yet: the bot process sends them."""
    fire = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    fire -= timedelta(days=1)
    clock = ManualClock(fire - timedelta(minutes=1))
    runtime = Runtime(
        url,
        clock,
        {"console": ConsolePort(clock)},
        alliance_file=file,
        real_time=False,
        background_dispatch=False,
        stop_timeout=0,
    )
    await runtime.start()
    try:
        clock.set(fire + timedelta(seconds=5))
        assert await runtime.planner.tick() == 3
    finally:
        await runtime.stop()


async def answers(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.session() as s:
            rows = (await s.execute(select(Member.handle, CheckIn.answer_text).join(Member))).all()
            return {str(handle): str(text) for handle, text in rows}
    finally:
        await db.dispose()


@pytest.fixture
def own_postgres() -> object:
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


async def test_a_postgres_outage_loses_nothing_and_is_logged_once(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    pg = own_postgres
    url = await asyncio.to_thread(pg.create_database, "outage")
    file = tmp_path / "alliance.yaml"
    file.write_text(ALLIANCE, encoding="utf-8")
    await prepare(url, file)
    bot = BotProcess(bot_env(url, tmp_path / "data", CONSOLE__ENABLED="true"), tmp_path / "bot.log")
    await bot.start()
    try:
        await bot.until(lambda: len(PROMPT.findall(bot.tail(100_000))) >= 3, "three prompts")
        refs = dict(PROMPT.findall(bot.tail(100_000)))
        bot.type("as berta")
        bot.type(f"reply {refs['berta']} Before the outage: funding.")
        bot.type("as sam")
        await bot.until(lambda: "You are now sam" in bot.tail(), "switch to sam")

        await asyncio.to_thread(pg.pause)
        bot.type(f"reply {refs['sam']} During the outage: time.")
        await asyncio.sleep(OUTAGE_SECONDS)
        assert bot.running, bot.tail()
        await asyncio.to_thread(pg.resume)

        await bot.until(
            lambda: "The database is back" in bot.tail(100_000), "word that it is back", 60
        )
        stored: dict[str, str] = {}

        async def both_stored() -> bool:
            nonlocal stored
            stored = await answers(url)
            return len(stored) == 2

        await bot.until(both_stored, "both answers stored", 60, every=0.5)
        assert stored == {
            "berta": "Before the outage: funding.",
            "sam": "During the outage: time.",
        }
        await bot.until(lambda: bot.tail(100_000).count("Thank you") >= 2, "two thank-yous")
        log = bot.tail(1_000_000)
        assert log.count("The database cannot be reached") == 1, log[-5000:]
        assert log.count("The database is back") == 1
        assert "Traceback" not in log, log[-5000:]
        assert await bot.terminate() == 0
    finally:
        await bot.close()
