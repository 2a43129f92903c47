"""Answers in every form a member uses, and what they may see of them."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.console.translate import parse_line
from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.events import InboundEvent
from bot.ports import ReplyTo
from bot.storage.records import CheckIn, Delivery
from tests.harnesses.console import ConsoleHarness

MONDAY_7 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Answers Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
      - {slug: ngo, name: The NGO, country: FR, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib, reporting: true}
      - {id: max, name: Max, organisation: lib}
      - {id: noe, name: Noe, organisation: ngo, reporting: true}
      - {id: boss, name: Boss, organisation: ngo, role: backbone}
    campaigns:
      - key: pulse
        name: Pulse
        prompts: [comms-introduction-made]
        audience: {organisations: [lib, ngo]}
        schedule: "0 8 * * MON"
      - key: scale
        name: Scale
        prompts: [comms-feel-informed]
        audience: {members: [lea]}
        schedule: "0 9 * * MON"
""")


@pytest.fixture
async def h(tmp_path: Path, sqlite_url: str) -> AsyncIterator[ConsoleHarness]:
    harness = ConsoleHarness(tmp_path, sqlite_url, MONDAY_7, ALLIANCE)
    await harness.runtime.start()
    await harness.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
    try:
        yield harness
    finally:
        await harness.runtime.stop()


async def checkins(h: ConsoleHarness) -> list[CheckIn]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(CheckIn).order_by(CheckIn.id))).all())


async def test_a_picked_choice_is_stored_by_key(h: ConsoleHarness) -> None:
    prompt = h.inbox("lea")[0]
    assert prompt.choices == ("Yes", "Not yet, but I plan to", "No")
    replies = await h.pick("lea", prompt.ref, "2")
    assert "Not yet, but I plan to" in replies[0]
    [checkin] = await checkins(h)
    assert (checkin.answer_choice, checkin.source) == ("planned", "button")


@pytest.mark.parametrize(
    ("typed", "key"), [("yess", "yes"), ("Not yet but I plan", "planned"), ("oui", "yes")]
)
async def test_a_choice_is_taken_by_its_label_or_a_close_spelling(
    h: ConsoleHarness, typed: str, key: str
) -> None:
    """Issue 15: a label (in any of the prompt's languages) or a close spelling of one."""
    replies = await h.reply("lea", h.inbox("lea")[0].ref, typed)
    assert "Thank you" in replies[0], replies
    [checkin] = await checkins(h)
    assert checkin.answer_choice == key


async def test_a_choice_outside_the_choices_lists_them(h: ConsoleHarness) -> None:
    replies = await h.reply("lea", h.inbox("lea")[0].ref, "maybe")
    assert "1. Yes" in replies[0] and "3. No" in replies[0]
    assert await checkins(h) == []


async def test_a_scale_answer_out_of_range_is_refused(h: ConsoleHarness) -> None:
    await h.runtime.advance(h.clock.now() + timedelta(hours=1))
    assert not [r for r in h.inbox("lea") if r.choices and r.choices[0].startswith("1 (")]
    await h.reply("lea", h.inbox("lea")[0].ref, "yes")  # the scale waits for this answer
    await h.runtime.advance(h.clock.now())
    scale = [r for r in h.inbox("lea") if r.choices and r.choices[0].startswith("1 (")][0]
    refused = await h.reply("lea", scale.ref, "9")
    assert "from 1 to 5" in refused[0]
    assert "Thank you" in (await h.reply("lea", scale.ref, "4"))[0]
    assert [c.answer_number for c in await checkins(h)] == [None, 4.0]


async def test_a_plain_direct_message_answers_the_latest_open_prompt(h: ConsoleHarness) -> None:
    event = parse_line("Yes", "max", h.clock.now())
    assert isinstance(event, InboundEvent)
    replies = await h.runtime.handle(event)
    assert "Thank you" in replies[0].text
    [checkin] = await checkins(h)
    assert (checkin.answer_choice, checkin.source) == ("yes", "direct")


async def test_the_checkin_command_shows_then_answers_the_open_prompt(h: ConsoleHarness) -> None:
    shown = await h.command("noe", "checkin")
    assert "introduced two people" in shown[0] and "1. Yes" in shown[0]
    answered = await h.command("noe", "checkin", "no")
    assert "Thank you" in answered[0]
    assert "no open question" in (await h.command("noe", "checkin", "yes"))[0]
    assert [c.source for c in await checkins(h)] == ["command"]


async def test_a_replayed_event_stores_one_check_in(h: ConsoleHarness) -> None:
    event = parse_line(f"reply {h.inbox('lea')[0].ref} yes", "lea", h.clock.now())
    assert isinstance(event, InboundEvent)
    first = await h.runtime.handle(event)
    again = await h.runtime.handle(event)
    assert first and again == []
    assert len(await checkins(h)) == 1


async def test_nobody_answers_someone_elses_prompt(h: ConsoleHarness) -> None:
    replies = await h.reply("max", h.inbox("lea")[0].ref, "yes")
    assert "someone else" in replies[0]
    assert await checkins(h) == []


async def test_members_see_export_and_delete_only_their_own(h: ConsoleHarness) -> None:
    await h.reply("lea", h.inbox("lea")[0].ref, "yes")
    await h.reply("max", h.inbox("max")[0].ref, "no")
    mine = await h.command("lea", "mydata")
    assert "comms-introduction-made" in mine[0] and "Yes" in mine[0]
    maxs = (await checkins(h))[1]
    refused = await h.command("lea", "mydata", f"delete {maxs.id}")
    assert "no check-in" in refused[0]
    assert len(await checkins(h)) == 2
    export = await h.runtime.handle(parse_line("/mydata export", "lea", h.clock.now()))  # type: ignore[arg-type]
    [file] = export[0].attachments
    assert file.content.decode().count("\n") == 2  # header and Lea's one answer
    lea_id = (await checkins(h))[0].id
    assert "Deleted" in (await h.command("lea", "mydata", f"delete {lea_id}"))[0]
    assert [c.member_id for c in await checkins(h)] == [maxs.member_id]


async def test_unknown_commands_get_help_and_strangers_a_polite_refusal(h: ConsoleHarness) -> None:
    assert "What I can do" in (await h.command("lea", "frobnicate"))[0]
    stranger = await h.command("mallory", "help")
    assert "don't know you" in stranger[0]


async def test_skip_stops_reminders_for_that_prompt(h: ConsoleHarness) -> None:
    assert "Skipped" in (await h.command("max", "skip"))[0]
    async with h.runtime.db.session() as s:
        statuses = (
            await s.scalars(
                select(Delivery.status).join(
                    CheckIn, CheckIn.delivery_id == Delivery.id, isouter=True
                )
            )
        ).all()
        assert "skipped" in statuses
        assert await s.scalar(select(func.count()).select_from(CheckIn)) == 0


async def test_the_same_event_twice_in_one_batch_stores_one_answer(h: ConsoleHarness) -> None:
    event = parse_line(f"reply {h.inbox('lea')[0].ref} yes", "lea", h.clock.now())
    assert isinstance(event, InboundEvent)
    to = ReplyTo.of(event)
    first, second = await h.runtime.service.handle_answers([(event, to), (event, to)])
    assert first is not None and "Thank you" in first[0].text
    assert second == []
    [checkin] = await checkins(h)
    async with h.runtime.db.session() as s:
        from bot.storage.records import CheckInRevision

        assert (await s.scalars(select(CheckInRevision))).all() == []
    assert checkin.answer_choice == "yes"


MOOD = textwrap.dedent("""\
    alliance: {name: Mood Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib}
    prompts:
      - id: team-mood
        kind: exercise
        answer: choice
        conditions: [continuous_communication]
        text: {en: "How did the partnership feel this week?"}
        choices:
          - {key: good, label: {en: Good}}
          - {key: hard, label: {en: Hard}}
    campaigns:
      - key: mood
        name: Mood
        prompts: [team-mood]
        schedule: "0 9 * * *"
    """)


async def test_a_prompt_changed_by_alliance_load_beside_the_bot_is_used_at_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    """`alliance load` from the command line, while the bot runs, changes what it accepts
    without a restart."""
    async with ConsoleHarness.started(tmp_path, sqlite_url, MONDAY_7, MOOD) as h:
        await h.runtime.advance(MONDAY_7 + timedelta(hours=2, minutes=1))
        ref = h.inbox("lea")[-1].ref
        refused = await h.reply("lea", ref, "Mixed")
        assert "Recorded" not in refused[0]
        hard = "      - {key: hard, label: {en: Hard}}\n"
        assert hard in MOOD
        changed = MOOD.replace(hard, hard + "      - {key: mixed, label: {en: Mixed}}\n")
        file = tmp_path / "changed.yaml"
        file.write_text(changed, encoding="utf-8")
        alliance, problems = validate_file(file)
        assert alliance is not None, problems
        await load_alliance(h.runtime.db, alliance, changed)  # what the CLI does
        accepted = await h.reply("lea", ref, "Mixed")
        assert "Recorded" in accepted[0] and "Mixed" in accepted[0]
