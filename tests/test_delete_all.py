"""``mydata delete all``: after a confirmation, nothing of what a member wrote is left, in any
table or in any file under the data directory; before it, and for everyone else, nothing goes."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, inspect, select

from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.models import Base
from bot.storage.records import AuditEvent, CheckIn, CheckInRevision
from tests.botprocess import BotProcess, bot_env
from tests.harnesses.console import ConsoleHarness

SENTINEL = "SENTINEL-7f3a"
OTHER = "OTHER-91b2"
MONDAY_7 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Privacy Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib}
      - {id: max, name: Max, organisation: lib}
      - {id: boss, name: Boss, organisation: lib, role: backbone}
    campaigns:
      - key: barrier
        name: Barrier
        prompts: [name-a-barrier]
        audience: {members: [lea, max]}
        schedule: "0 8 * * *"
""")


def _holds(content: bytes, needle: str) -> bool:
    """``needle`` in a file or column as written, or inside a zip (an XLSX export)."""
    if needle.encode() in content:
        return True
    if content.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return any(needle.encode() in archive.read(i) for i in archive.infolist())
        except zipfile.BadZipFile:
            return False
    return False


async def found_in_tables(db: Database, needle: str) -> list[str]:
    """Every column of every table (text, JSON and binary alike) that holds ``needle``: the
    tables come from the models, and the database has no table they do not describe."""
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert names - {"alembic_version"} == set(Base.metadata.tables), "a table not scanned"
        found = []
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                for column, value in row.items():
                    if isinstance(value, bytes):
                        content = value
                    elif isinstance(value, dict | list):
                        content = json.dumps(value, ensure_ascii=False).encode()
                    else:
                        content = str(value).encode()
                    if _holds(content, needle):
                        found.append(f"{table.name}.{column}")
    return found


def found_in_files(folder: Path, needle: str) -> list[str]:
    """Every file under ``folder`` (the database's own files included) holding ``needle``."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and _holds(path.read_bytes(), needle)
    )


async def _checkin_ids(h: ConsoleHarness, handle: str) -> list[int]:
    async with h.runtime.db.session() as s:
        return list(
            (
                await s.scalars(
                    select(CheckIn.id)
                    .join(m.Member, m.Member.id == CheckIn.member_id)
                    .where(m.Member.handle == handle)
                )
            ).all()
        )


async def leave_traces(h: ConsoleHarness) -> int:
    """Lea writes the sentinel, edits it, shares it; staff star it and see it in a digest and
    two exports; Max sees it in the highlights; Lea exports her own. Returns her check-in."""
    await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
    lea, mx = h.inbox("lea")[0].ref, h.inbox("max")[0].ref
    await h.reply("lea", lea, f"Our {SENTINEL} barrier was the budget")
    updated = await h.reply("lea", lea, f"Edited: {SENTINEL} budget and rooms")
    assert "Updated" in updated[0] and SENTINEL in updated[0]
    await h.reply("max", mx, f"Max keeps {OTHER} words")
    [checkin] = await _checkin_ids(h, "lea")
    assert "may now appear" in (await h.command("lea", "share", str(checkin)))[0]
    await h.command("boss", "star", str(checkin))
    assert "Your 1 check-in is attached." in (await h.command("lea", "mydata", "export"))[0]
    assert SENTINEL in (await h.command("boss", "digest", "2026-W48"))[0]
    await h.command("boss", "digest", "export 2026-W48")
    await h.command("boss", "digest", "export 2026-W48 xlsx")
    assert SENTINEL in (await h.command("max", "highlights", "2026-W48"))[0]
    return checkin


async def test_delete_all_erases_every_trace_of_the_member_and_nothing_else(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, MONDAY_7, ALLIANCE) as h:
        db = h.runtime.db
        checkin = await leave_traces(h)
        tables = await found_in_tables(db, SENTINEL)
        assert {"checkins.answer_text", "checkin_revisions.answer_text"} <= set(tables)
        assert {"deliveries.payload", "outbox_files.content"} <= set(tables)
        assert found_in_files(tmp_path / "files", SENTINEL) == [
            "alliance-2026-W48.csv",
            "alliance-2026-W48.xlsx",
            "my-checkins-lea.csv",
        ]

        [asked] = await h.command("lea", "mydata", "delete all")
        assert "This erases your 1 check-in (and 1 earlier version)" in asked
        assert "type “mydata delete all confirm” within 10 minutes" in asked
        assert await _checkin_ids(h, "lea") == [checkin]  # asking deletes nothing
        assert await found_in_tables(db, SENTINEL) == tables

        h.clock.advance(timedelta(minutes=3))
        [done] = await h.command("lea", "mydata", "delete all confirm")
        assert done.startswith("Done: I erased your 1 check-in with 1 earlier version")
        assert await found_in_tables(db, SENTINEL) == []
        assert found_in_files(tmp_path, SENTINEL) == []  # the SQLite file and its log too

        # Everyone else's words stay; Lea stays a member and can answer again tomorrow.
        assert len(await _checkin_ids(h, "max")) == 1
        assert OTHER in (await h.command("boss", "digest", "2026-W48"))[0]
        async with db.session() as s:
            lea = await s.scalar(select(m.Member).where(m.Member.handle == "lea"))
            assert lea is not None and lea.active
            identities = await s.scalar(
                select(func.count(m.Identity.id)).where(m.Identity.member_id == lea.id)
            )
            [entry] = (
                await s.scalars(select(AuditEvent).where(AuditEvent.action == "delete-all"))
            ).all()
        assert identities == 1  # her console account
        assert (entry.actor, entry.object_kind, entry.object_id) == ("lea", "member", "lea")
        assert entry.detail["checkins"] == 1 and entry.detail["revisions"] == 1
        await h.runtime.advance(MONDAY_7 + timedelta(days=1, hours=1, minutes=1))
        recorded = await h.reply("lea", h.inbox("lea")[-1].ref, "A fresh start")
        assert "Recorded" in recorded[0]


async def test_without_a_timely_confirmation_nothing_is_deleted(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, sqlite_url, MONDAY_7, ALLIANCE) as h:
        await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
        await h.reply("lea", h.inbox("lea")[0].ref, f"Kept {SENTINEL}")
        [unasked] = await h.command("lea", "mydata", "delete all confirm")
        assert unasked.startswith("Nothing was deleted: first type “mydata delete all”")
        [odd] = await h.command("lea", "mydata", "delete all please")
        assert "then “mydata delete all confirm” to go ahead" in odd
        await h.command("lea", "mydata", "delete all")
        h.clock.advance(timedelta(minutes=11))
        [late] = await h.command("lea", "mydata", "delete all confirm")
        assert "more than 10 minutes after you asked" in late
        assert len(await _checkin_ids(h, "lea")) == 1
        assert "checkins.answer_text" in await found_in_tables(h.runtime.db, SENTINEL)
        [nothing] = await h.command("max", "mydata", "delete all")
        assert nothing.startswith("You have no check-ins stored; this erases the files")


async def test_deleting_one_checkin_takes_its_words_out_of_exported_files(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The one-check-in ``mydata delete <id>`` leaves no copy in an export on disk either."""
    async with ConsoleHarness.started(tmp_path, sqlite_url, MONDAY_7, ALLIANCE) as h:
        await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
        await h.reply("lea", h.inbox("lea")[0].ref, f"Gone soon {SENTINEL}")
        await h.runtime.advance(MONDAY_7 + timedelta(days=1, hours=1, minutes=1))
        await h.reply("lea", h.inbox("lea")[-1].ref, f"Stays {OTHER}")
        await h.command("lea", "mydata", "export")
        assert found_in_files(tmp_path / "files", SENTINEL) == ["my-checkins-lea.csv"]
        first = min(await _checkin_ids(h, "lea"))
        [deleted] = await h.command("lea", "mydata", f"delete {first}")
        assert deleted == f"Deleted your check-in #{first} and its history."
        assert found_in_files(tmp_path / "files", SENTINEL) == []
        assert await found_in_tables(h.runtime.db, SENTINEL) == []
        assert "checkins.answer_text" in await found_in_tables(h.runtime.db, OTHER)


async def test_the_running_bot_erases_a_member_on_the_console(tmp_path: Path) -> None:
    """The real ``alliance-bot run`` (console, SQLite in the data directory): after ``mydata
    delete all`` and its confirmation, neither the database nor any file under the data
    directory holds the sentinel. The purge also ran once at start."""
    data = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{data / 'alliance-bot.db'}"
    h = ConsoleHarness(data, url, MONDAY_7, ALLIANCE)  # files go to data/files, as the bot's
    await h.runtime.start()
    try:
        await leave_traces(h)
    finally:
        await h.runtime.stop()
    assert found_in_files(data, SENTINEL)
    env = bot_env(url, data, ALLIANCE_FILE=str(h.file), CONSOLE__ENABLED="true")
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    try:
        await bot.until(lambda: "retention purge (no retention set)" in bot.tail(), "the purge")
        bot.type("as lea")
        bot.type("mydata delete all")
        await bot.until(lambda: "within 10 minutes" in bot.tail(), "the question")
        bot.type("mydata delete all confirm")
        await bot.until(lambda: "Done: I erased your 1 check-in " in bot.tail(), "the erasure")
        assert await bot.terminate() == 0
    finally:
        await bot.close()
    assert "Traceback" not in bot.tail(100_000)
    assert found_in_files(data, SENTINEL) == []
    db = Database(url)
    try:
        assert await found_in_tables(db, SENTINEL) == []
        async with db.session() as s:
            assert await s.scalar(select(func.count(CheckInRevision.id))) == 0
            assert await s.scalar(select(func.count(CheckIn.id))) == 1  # Max's
    finally:
        await db.dispose()
