"""``retention: 30 days`` in the alliance file: the purge removes what is older, keeps what is
not, works in short chunks, and says what it did in one line without a word of anyone's text."""

from __future__ import annotations

import logging
import math
import os
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.alliance.validate import validate_file
from bot.privacy.purge import Purger
from bot.privacy.retention import Retention, parse_retention
from bot.storage import models as m
from bot.storage.records import AuditEvent, CheckIn, ProcessedEvent
from tests.harnesses.console import ConsoleHarness
from tests.test_delete_all import found_in_files, found_in_tables

MONDAY_7 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Short Memory, default_timezone: UTC<<retention>>}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib}
      - {id: boss, name: Boss, organisation: lib, role: backbone}
    campaigns:
      - key: barrier
        name: Barrier
        prompts: [name-a-barrier]
        audience: {members: [lea]}
        schedule: "0 8 * * *"
""")


def alliance(retention: str | None) -> str:
    return ALLIANCE.replace("<<retention>>", f", retention: {retention}" if retention else "")


def test_retention_is_read_in_calendar_units_and_nonsense_is_refused(tmp_path: Path) -> None:
    assert parse_retention("18 months") == Retention(18, "month")
    assert str(parse_retention(" 2Y ")) == "2 years"
    may_31 = datetime(2028, 5, 31, 12, tzinfo=UTC)
    assert parse_retention("18 months").cutoff(may_31) == datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert parse_retention("1 year").cutoff(may_31) == datetime(2027, 5, 31, 12, tzinfo=UTC)
    assert parse_retention("2 weeks").cutoff(may_31) == may_31 - timedelta(days=14)
    for value, sentence in (
        ("18 moons", "“18 moons” is not a retention period; write it like 18 months, 90 days"),
        ("18", "retention “18” has no unit"),
        ("0 days", "a retention of 0 would delete every answer as soon as it is given"),
        ("500 years", "a retention of 500 years is longer than a century"),
    ):
        file = tmp_path / "alliance.yaml"
        file.write_text(alliance(value), encoding="utf-8")
        found, problems = validate_file(file)
        [problem] = problems  # one sentence, naming the line and the field
        assert found is None
        assert str(problem).startswith(f"{file}:1: alliance.retention: {sentence}")
        assert "leave `retention` out to keep" in str(problem)


async def _stored(h: ConsoleHarness) -> list[str]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(CheckIn.answer_text).order_by(CheckIn.id))).all())


def _age(path: Path, moment: datetime) -> None:
    """The file was last written at ``moment`` (the bot's clock, which the test moves)."""
    os.utime(path, (moment.timestamp(), moment.timestamp()))


async def test_the_purge_removes_what_is_older_than_the_retention_and_keeps_the_rest(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, MONDAY_7, alliance("30 days")) as h:
        files = tmp_path / "files"
        await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
        old_prompt = h.inbox("lea")[0].ref
        await h.reply("lea", old_prompt, "OLD-words-1 first try")
        await h.reply("lea", old_prompt, "OLD-words-2 edited")
        await h.command("boss", "digest", "export 2026-W41")
        _age(files / "alliance-2026-W41.csv", h.clock.now())

        later = MONDAY_7 + timedelta(days=40, hours=1, minutes=1)
        await h.runtime.advance(later)
        await h.reply("lea", h.inbox("lea")[-1].ref, "NEW-words kept")
        await h.command("lea", "mydata", "export")
        _age(files / "my-checkins-lea.csv", h.clock.now())
        async with h.runtime.db.session() as s:
            events_before = len((await s.scalars(select(ProcessedEvent.id))).all())

        caplog.set_level(logging.INFO, logger="bot.privacy")
        counts = await h.runtime.purger.purge()
        assert (counts.checkins, counts.revisions, counts.files) == (1, 1, 1)
        assert (counts.replies, counts.outbox_files) == (3, 1)  # acknowledgements, an export
        assert await _stored(h) == ["NEW-words kept"]
        # Lea's export of today still holds her old answer: a copy made today, kept 30 days.
        assert await found_in_tables(h.runtime.db, "OLD-words") == ["outbox_files.content"]
        assert found_in_files(files, "OLD-words") == ["my-checkins-lea.csv"]
        assert "deliveries.payload" in await found_in_tables(h.runtime.db, "NEW-words")
        async with h.runtime.db.session() as s:
            events_after = len((await s.scalars(select(ProcessedEvent.id))).all())
            [audit] = (
                await s.scalars(select(AuditEvent).where(AuditEvent.action == "purge"))
            ).all()
        assert events_after == events_before - counts.events and events_after == 2
        assert (audit.actor, audit.object_id, audit.detail["checkins"]) == (
            "retention",
            "30 days",
            1,
        )
        [line] = [r.getMessage() for r in caplog.records if "retention purge" in r.getMessage()]
        assert line.startswith("retention purge (retention 30 days): removed 1 check-ins, 1 ")
        assert "words" not in caplog.text

        assert (await h.runtime.purger.purge()).total == 0  # nothing left to do
        h.clock.advance(timedelta(days=31))
        assert (await h.runtime.purger.purge()).checkins == 1
        for words in ("OLD-words", "NEW-words"):
            assert await found_in_tables(h.runtime.db, words) == []
            assert found_in_files(tmp_path, words) == []


async def test_without_retention_answers_stay_while_files_and_event_ids_expire_in_chunks(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, MONDAY_7, alliance(None)) as h:
        await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
        await h.reply("lea", h.inbox("lea")[0].ref, "KEPT-words for ever")
        for _ in range(6):
            await h.command("lea", "help")
        await h.command("boss", "digest", "export 2026-W41")
        _age(tmp_path / "files" / "alliance-2026-W41.csv", h.clock.now())
        async with h.runtime.db.session() as s:
            events = len((await s.scalars(select(ProcessedEvent.id))).all())
        assert events == 8

        h.clock.advance(timedelta(days=100))
        purger = Purger(h.runtime.db, h.clock, folders=[tmp_path / "files"], chunk=3)
        seen: list[str] = []

        def statement(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
            if sql.startswith("DELETE FROM processed_events"):
                seen.append(f"delete {len(params)}")

        def commit(_connection: Any) -> None:
            if seen and seen[-1] != "commit":
                seen.append("commit")

        engine = h.runtime.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        try:
            counts = await purger.purge()
        finally:
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", commit)
        assert (counts.checkins, counts.events) == (0, 8)
        assert (counts.replies, counts.outbox_files, counts.files) == (8, 1, 1)  # copies expire
        # Chunks of 3, each in a transaction of its own: the write lock is held briefly.
        assert seen[: 2 * math.ceil(events / 3)] == [
            "delete 3", "commit", "delete 3", "commit", "delete 2", "commit"
        ]  # fmt: skip
        assert await _stored(h) == ["KEPT-words for ever"]
        assert found_in_files(tmp_path / "files", "KEPT-words") == []
        async with h.runtime.db.session() as s:
            assert (await s.get(m.Alliance, 1)) is not None
            assert (await s.scalar(select(m.Alliance.retention))) is None
