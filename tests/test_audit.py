"""Every staff and admin action leaves an audit row (who, what, when, on which object), never
with answer text; admins read the log with ``audit``, nobody else can."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.cli import app
from bot.events import STAR, Reacted, Retracted
from bot.storage.records import AuditEvent, CheckIn
from tests.harnesses.console import ConsoleHarness

MONDAY_7 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
"""An hour before the daily prompt reaches Berlin (09:00 there)."""
SECRET = "SENTINEL-words-only-berta-wrote"
runner = CliRunner()


@pytest.fixture
async def h(tmp_path: Path, db_url: str) -> AsyncIterator[ConsoleHarness]:
    async with ConsoleHarness.started(tmp_path, db_url, MONDAY_7) as harness:
        await harness.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
        yield harness


async def rows(h: ConsoleHarness) -> list[AuditEvent]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


def what(entries: list[AuditEvent]) -> list[tuple[str, str, str, str | None]]:
    return [(e.actor, e.action, e.object_kind, e.object_id) for e in entries]


async def berta_answers(h: ConsoleHarness) -> int:
    prompt = h.inbox("berta")[0]
    assert "Thank you" in (await h.reply("berta", prompt.ref, SECRET))[0]
    async with h.runtime.db.session() as s:
        return int(await s.scalar(select(CheckIn.id).where(CheckIn.answer_text == SECRET)) or 0)


async def test_each_staff_and_admin_action_leaves_one_row(h: ConsoleHarness) -> None:
    [load] = await rows(h)  # the alliance file, loaded at start
    assert (load.actor, load.action, load.object_kind, load.actor_member_id) == (
        "startup",
        "load",
        "alliance",
        None,
    )
    assert load.detail["added"] > 0 and load.at == MONDAY_7
    checkin = await berta_answers(h)
    ref = str(checkin)

    await h.command("bo", "star", ref)
    await h.command("bo", "star", ref)  # already starred: nothing happens, nothing recorded
    await h.command("bo", "unstar", ref)
    await h.command("berta", "share", ref)
    await h.command("berta", "unshare", ref)
    await h.command("bo", "digest", "2026-11")
    await h.command("bo", "digest", "export 2026-11 csv")
    await h.command("ada", "campaign", "resume figures")
    await h.command("ada", "campaign", "pause figures")
    await h.command("ada", "campaign", "list")  # reading changes nothing: not recorded
    await h.command("berta", "mydata", f"delete {ref}")

    assert what((await rows(h))[1:]) == [
        ("bo", "star", "checkin", ref),
        ("bo", "unstar", "checkin", ref),
        ("berta", "share", "checkin", ref),
        ("berta", "unshare", "checkin", ref),
        ("bo", "digest", "period", "2026-11"),
        ("bo", "export", "period", "2026-11"),
        ("ada", "resume", "campaign", "figures"),
        ("ada", "pause", "campaign", "figures"),
        ("berta", "delete", "checkin", ref),
    ]
    entries = await rows(h)
    assert all(e.at == h.clock.now() for e in entries[1:])
    assert entries[6].detail == {"format": "csv"}
    assert entries[-1].detail == {"prompt": "name-a-barrier", "period": "2026-W48"}
    # Who, what and on which object; never what Berta wrote.
    everything = json.dumps([[e.actor, e.action, e.object_id, e.detail] for e in entries])
    assert SECRET not in everything


async def test_refused_actions_leave_no_row(h: ConsoleHarness) -> None:
    checkin = str(await berta_answers(h))
    before = what(await rows(h))
    assert "admins" in (await h.command("bo", "campaign", "pause daily"))[0]
    assert "backbone team" in (await h.command("berta", "star", checkin))[0]
    assert "backbone team" in (await h.command("nina", "digest", "export"))[0]
    assert "no check-in #" in (await h.command("nina", "mydata", f"delete {checkin}"))[0]
    assert "no campaign" in (await h.command("ada", "campaign", "pause nothing"))[0]
    assert what(await rows(h)) == before


async def test_a_star_reaction_and_its_removal_are_recorded(h: ConsoleHarness) -> None:
    checkin = await berta_answers(h)
    async with h.runtime.db.session() as s:
        answer = await s.get(CheckIn, checkin)
        assert answer is not None and answer.event_ref is not None

    async def react(sender: str, removed: bool = False) -> str:
        event_id = f"console:{uuid.uuid4()}"
        await h.runtime.handle(
            Reacted(
                platform="console",
                event_id=event_id,
                sender=sender,
                at=h.clock.now(),
                message_ref=str(answer.event_ref),
                key=STAR,
                removed=removed,
            )
        )
        return event_id

    await react("berta")  # her own ⭐ means nothing to the digest: nothing to record
    star = await react("bo")
    # A room moderator who is no member takes Bo's ⭐ away (a Matrix redaction).
    await h.runtime.handle(
        Retracted(
            platform="console",
            event_id=f"console:{uuid.uuid4()}",
            sender="moderator",
            at=h.clock.now(),
            target=star,
        )
    )
    await react("bo")
    await react("bo", removed=True)
    assert [(e.actor, e.action, e.object_id, e.detail) for e in (await rows(h))[1:]] == [
        ("bo", "star", str(checkin), {"via": "reaction"}),
        ("console:moderator", "unstar", str(checkin), {"via": "reaction"}),
        ("bo", "star", str(checkin), {"via": "reaction"}),
        ("bo", "unstar", str(checkin), {"via": "reaction"}),
    ]


async def test_an_admin_reads_the_log_and_nobody_else_can(h: ConsoleHarness) -> None:
    checkin = str(await berta_answers(h))
    await h.command("bo", "star", checkin)
    await h.command("ada", "campaign", "resume figures")
    await h.command("berta", "mydata", f"delete {checkin}")

    [shown] = await h.command("ada", "audit")
    assert "the latest 4 of 4 entries, newest first" in shown
    lines = shown.splitlines()[1:]
    assert [line.split(" · ", 2)[1:] for line in lines[:3]] == [
        ["berta", f"delete checkin {checkin} (prompt: name-a-barrier, period: 2026-W48)"],
        ["ada", "resume campaign figures"],
        ["bo", f"star checkin {checkin} (via: command)"],
    ]
    assert lines[0].startswith("#4 2026-11-23 08:01 UTC · ")
    assert lines[3].startswith("#1 2026-11-23 07:00 UTC · startup · load alliance ")
    assert lines[3].endswith("(added: 80, changed: 0, deactivated: 0)")  # 66 prompts and the rest
    assert SECRET not in shown

    for who in ("berta", "bo"):  # a member, and backbone staff who are not admins
        [refused] = await h.command(who, "audit")
        assert "The audit log is for the alliance's admins" in refused
        assert "figures" not in refused and "startup" not in refused


async def test_audit_takes_a_count_and_an_action(h: ConsoleHarness) -> None:
    for _ in range(3):
        await h.command("ada", "campaign", "resume figures")
        await h.command("ada", "campaign", "pause figures")
    [two] = await h.command("ada", "audit", "2")
    assert "the latest 2 of 7 entries" in two and "“audit <n>” shows up to 200" in two
    assert len(two.splitlines()) == 3
    [pauses] = await h.command("ada", "audit", "pause")
    assert "the latest 3 of 3 “pause” entries" in pauses
    assert all(" · pause campaign figures" in line for line in pauses.splitlines()[1:])
    [campaigns] = await h.command("ada", "audit", "campaign 4")
    assert "the latest 4 of 6 “campaign” entries" in campaigns
    [many] = await h.command("ada", "audit", "99999")
    assert "the latest 7 of 7 entries" in many  # at most 200 at once; here there are 7
    [unknown] = await h.command("ada", "audit", "\u202estar")
    assert unknown == "No audit entries for “star”. The actions recorded: load, pause, resume."
    for bad in ("0", "²", "99999999999999999999", "3 4"):
        [refused] = await h.command("ada", "audit", bad)
        assert refused == "Give one number of entries, from 1 to 200: e.g. “audit 50”."
    [usage] = await h.command("ada", "audit", "pause star")
    assert usage.startswith("Use: audit | audit <how many> | audit <action>")
    [help_text] = await h.command("ada", "help")
    assert "audit [n] [action]" in help_text
    assert "audit" not in (await h.command("bo", "help"))[0]


async def test_the_command_line_records_its_load_and_reads_the_log(
    tmp_path: Path, db_url: str
) -> None:
    file = tmp_path / "alliance.yaml"
    async with ConsoleHarness.started(tmp_path, db_url, MONDAY_7) as h:
        await h.command("ada", "campaign", "resume figures")
    file.write_text(
        file.read_text(encoding="utf-8").replace("name: Sid,", "name: Sidney,"), encoding="utf-8"
    )

    def cli(*args: str) -> str:
        result = runner.invoke(app, ["--database-url", db_url, *args])
        assert result.exit_code == 0, result.output
        return result.output

    loaded = await asyncio.to_thread(cli, "alliance", "load", str(file))
    # The file says the campaign is paused: loading it undoes Ada's resume, and the log shows both.
    assert "Changed 1 member: sid" in loaded and "Changed 1 campaign: figures" in loaded
    async with ConsoleHarness.started(tmp_path, db_url, MONDAY_7) as h:
        entries = await rows(h)
    assert [(e.actor, e.action) for e in entries] == [
        ("startup", "load"),
        ("ada", "resume"),
        ("cli", "load"),
        ("startup", "load"),
    ]
    assert entries[2].detail == {"added": 0, "changed": 2, "deactivated": 0}

    table = await asyncio.to_thread(cli, "audit", "3")
    assert "the latest 3 of 4 entries" in table
    assert "cli" in table and "resume" in table and "figures" in table
    assert "ada" in await asyncio.to_thread(cli, "audit", "--action", "resume")
