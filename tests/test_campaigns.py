"""Campaigns that run: behaviour a member or admin notices, through the platform boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.storage.records import CheckIn, CheckInRevision, Delivery
from tests.conftest import HarnessFactory
from tests.harness import Harness
from tests.harnesses.console import ConsoleHarness

SUNDAY = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
ZONES = {"berta": "Europe/Berlin", "nina": "America/New_York", "sam": "Australia/Sydney"}


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    return await make_harness(SUNDAY)


async def run_hours(h: Harness, hours: int) -> dict[str, list[datetime]]:
    """Advance hour by hour; note when each member's inbox got a new prompt."""
    seen = {name: len(h.inbox(name)) for name in ZONES}
    arrivals: dict[str, list[datetime]] = {name: [] for name in ZONES}
    for _ in range(hours):
        await h.runtime.advance(h.clock.now() + timedelta(hours=1))
        for name in ZONES:
            count = len([r for r in h.inbox(name) if r.is_prompt])
            if count > seen[name]:
                arrivals[name].extend([h.clock.now()] * (count - seen[name]))
                seen[name] = count
    return arrivals


async def latest_prompt(h: Harness, member: str) -> str:
    prompts = [r for r in h.inbox(member) if r.is_prompt]
    assert prompts, f"{member} received no prompt"
    return prompts[-1].ref


async def test_a_campaign_sends_at_nine_in_three_time_zones(harness: Harness) -> None:
    arrivals = await run_hours(harness, 48)
    for name, zone in ZONES.items():
        local = [t.astimezone(ZoneInfo(zone)) for t in arrivals[name]]
        assert [t.hour for t in local] == [9] * len(local), (name, local)
        assert len({t.date() for t in local}) == len(local) >= 2, (name, local)
    # Monday 09:00 comes first in Sydney, then Berlin, then New York.
    assert arrivals["sam"][0] < arrivals["berta"][1] < arrivals["nina"][1]
    assert harness.inbox("bo") == [] and harness.inbox("ada") == []


async def test_a_reply_becomes_a_check_in(harness: Harness) -> None:
    await run_hours(harness, 9)
    ref = await latest_prompt(harness, "berta")
    replies = await harness.reply("berta", ref, "Our partners' calendars never match.")
    assert "Thank you" in replies[0]
    assert "calendars never match" in replies[0]
    async with harness.runtime.db.session() as s:
        checkin = (await s.scalars(select(CheckIn))).one()
        assert checkin.answer_text == "Our partners' calendars never match."
        assert checkin.prompt_id == "name-a-barrier"
        assert checkin.period_key == "2026-W47"  # Sunday 22 November
        assert checkin.source == "thread"


async def test_a_wrong_typed_answer_stores_nothing_and_explains(harness: Harness) -> None:
    async with harness.runtime.db.session() as s:
        from bot.storage import models as m

        campaign = await s.scalar(select(m.Campaign).where(m.Campaign.key == "figures"))
        assert campaign is not None
        campaign.paused = False
    await harness.runtime.advance(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    # The figures question waits behind the daily one berta has not answered yet (one
    # question at a time); her answer brings it.
    ref = await latest_prompt(harness, "berta")
    assert "sessions" not in [r for r in harness.inbox("berta") if r.ref == ref][0].text
    await harness.reply("berta", ref, "No time to meet.")
    await harness.runtime.advance(harness.clock.now())
    ref = await latest_prompt(harness, "berta")
    prompt_text = [r for r in harness.inbox("berta") if r.ref == ref][0].text
    assert "November 2026" in prompt_text and "Berlin Lib" in prompt_text
    replies = await harness.reply("berta", ref, "about twelve")
    assert "number" in replies[0] and "12" in replies[0] and "nothing was saved" in replies[0]
    async with harness.runtime.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(CheckIn)) == 1
    replies = await harness.reply("berta", ref, "12")
    assert "Thank you" in replies[0]
    async with harness.runtime.db.session() as s:
        checkin = (await s.scalars(select(CheckIn).where(CheckIn.answer_number.is_not(None)))).one()
        assert checkin.answer_number == 12 and checkin.period_key == "2026-11"
    assert harness.inbox("sid") == [r for r in harness.inbox("sid") if "sessions" not in r.text]


async def test_an_edit_keeps_history(harness: Harness) -> None:
    await run_hours(harness, 9)
    ref = await latest_prompt(harness, "berta")
    await harness.reply("berta", ref, "Too little time.")
    replies = await harness.reply("berta", ref, "Too little time, and no shared calendar.")
    assert "Updated" in replies[0] and "Too little time." in replies[0]
    async with harness.runtime.db.session() as s:
        checkin = (await s.scalars(select(CheckIn))).one()
        assert checkin.answer_text == "Too little time, and no shared calendar."
        assert checkin.edited_at is not None
        history = (await s.scalars(select(CheckInRevision))).all()
        assert [r.answer_text for r in history] == ["Too little time."]


async def test_a_reminder_reaches_only_non_responders(harness: Harness) -> None:
    await run_hours(harness, 9)  # Berlin's 09:00 is 08:00 UTC
    await harness.reply("berta", await latest_prompt(harness, "berta"), "Done.")
    await run_hours(harness, 6)  # New York's 09:00 is 14:00 UTC
    nina_before = len(harness.inbox("nina"))
    await harness.runtime.advance(harness.clock.now() + timedelta(hours=3, minutes=5))
    berta = harness.inbox("berta")
    nina = harness.inbox("nina")
    assert [r.kind for r in berta] == ["prompt"]
    assert len(nina) == nina_before + 1
    assert nina[-1].kind == "reminder"
    assert "Reminder" in nina[-1].text
    await harness.reply("nina", nina[-1].ref, "A reply to the reminder counts.")
    await harness.runtime.advance(harness.clock.now() + timedelta(hours=5))
    assert [r.kind for r in harness.inbox("nina")] == ["prompt", "reminder"]


async def test_the_bot_stopped_across_a_due_time_catches_up_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    h = ConsoleHarness(tmp_path, sqlite_url, SUNDAY)
    await h.runtime.start()
    await h.runtime.advance(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    await h.runtime.stop()
    h.clock.set(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))  # Berlin's 09:00 passed while down
    before = len(h.inbox("berta"))
    for _ in range(2):  # a second restart must not send it again
        await h.new_runtime().start()
        await h.runtime.settle()
        await h.runtime.stop()
    assert len(h.inbox("berta")) == before + 1
    # Down for longer than the campaign's catch-up window: recorded as missed, not sent.
    h.clock.set(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    await h.new_runtime().start()
    await h.runtime.settle()
    await h.runtime.stop()
    assert len(h.inbox("berta")) == before + 1
    async with h.runtime.db.session() as s:
        missed = (await s.scalars(select(Delivery).where(Delivery.status == "missed"))).all()
        assert {d.occurrence[:10] for d in missed} >= {"2026-11-24"}
    await h.runtime.db.dispose()


async def test_a_member_is_refused_a_digest(harness: Harness) -> None:
    replies = await harness.command("berta", "digest")
    assert "backbone team" in replies[0]
    assert "Response" not in replies[0]
    staff = await harness.command("bo", "digest")
    assert "Response by organisation" in staff[0]


async def test_an_admin_pauses_a_campaign_and_no_prompt_goes_out(harness: Harness) -> None:
    refused = await harness.command("bo", "campaign", "pause daily")
    assert "admins" in refused[0]
    replies = await harness.command("ada", "campaign", "pause daily")
    assert "paused" in replies[0]
    await run_hours(harness, 30)
    assert all(harness.inbox(name) == [] for name in ZONES)
    await harness.command("ada", "campaign", "resume daily")
    arrivals = await run_hours(harness, 24)
    assert all(len(arrivals[name]) == 1 for name in ZONES)


async def test_campaign_preview_shows_the_next_sends_per_time_zone(harness: Harness) -> None:
    [text] = await harness.command("ada", "campaign", "preview daily")
    assert "Australia/Sydney: Mon 23 Nov 09:00 (22:00 UTC) to 2 members" in text  # ngettext
    assert "Europe/Berlin: Sun 22 Nov 09:00 (08:00 UTC) to 1 member" in text
    assert "America/New_York: Sun 22 Nov 09:00 (14:00 UTC) to 1 member" in text
    listed = (await harness.command("ada", "campaign", "list"))[0]
    assert "daily" in listed and "figures" in listed and "PAUSED" in listed
    unknown = (await harness.command("ada", "campaign", "pause nope"))[0]
    assert "no campaign “nope”" in unknown and "daily" in unknown


async def test_help_says_how_commands_are_typed_here(harness: Harness) -> None:
    """Issue 15: help shows each platform's own syntax (“!checkin” on Matrix, the DM word or
    /checkin on Slack, the word alone on the console)."""
    [text] = await harness.command("berta", "alliance-help")  # a slash command on Slack too
    first = text.splitlines()[0]
    expected = {
        "matrix": "On Matrix, start a command with !",
        "slack": "On Slack, type a command in our direct chat",
        "console": "What I can do:",
    }[harness.name]
    assert first.startswith(expected), text
