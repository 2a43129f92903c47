"""One question at a time (issue 15): a member's prompts that fall due together form one
conversation. The next question comes after an answer or a skip, or once the member has let the
current one go unanswered through its reminders; reminders follow the conversation, and a member
who stays silent does not pile up a backlog of old questions."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.domain.values import DeliveryStatus
from bot.storage.records import CheckIn, Delivery
from tests.harness import Received
from tests.harnesses.console import ConsoleHarness

SUNDAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MONDAY_NINE = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)


THREE = "[name-a-barrier, comms-two-people-should-meet, backbone-international-contact]"
SEVEN = (
    "[name-a-barrier, comms-two-people-should-meet, comms-introduction-made, "
    "comms-new-partner-contact, comms-wish-partners-knew, comms-thank-an-advocate, "
    "comms-heard-a-shared-problem]"
)


def alliance(
    ask: str = "one by one", reminders: str = "{after: 3h, max: 1}", questions: str = THREE
) -> str:
    return textwrap.dedent(f"""\
        alliance: {{name: Talk Alliance, default_timezone: UTC}}
        organisations:
          - {{slug: lib, name: The Library, country: DE, timezone: UTC}}
        members:
          - {{id: lea, name: Lea, organisation: lib}}
          - {{id: tom, name: Tom, organisation: lib}}
        campaigns:
          - key: weekly
            name: Weekly
            ask: {ask}
            prompts: {questions}
            audience: {{organisations: [lib]}}
            schedule: "0 9 * * MON"
            reminders: {reminders}
        """)


def prompts(h: ConsoleHarness, member: str) -> list[Received]:
    return [r for r in h.inbox(member) if r.is_prompt]


def reminders(h: ConsoleHarness, member: str) -> list[Received]:
    return [r for r in h.inbox(member) if r.kind == "reminder"]


async def checkins(h: ConsoleHarness) -> list[CheckIn]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(CheckIn).order_by(CheckIn.id))).all())


async def test_questions_due_together_come_one_after_another(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, alliance()) as h:
        await h.run_until(MONDAY_NINE)
        [first] = prompts(h, "lea")
        assert "barrier" in first.text and "2 more questions after this one." in first.text

        # Plain text in the direct chat answers the question being asked.
        [thanks] = await h.say("lea", "Our calendars never match.")
        assert "Thank you" in thanks and "calendars never match" in thanks
        await h.runtime.advance(h.clock.now())
        first_two = prompts(h, "lea")
        assert len(first_two) == 2 and "two people" in first_two[1].text.lower(), first_two

        # Small talk after the acknowledgement is not taken as the next answer.
        assert await h.say("lea", "merci !") == []
        assert len(await checkins(h)) == 1

        # A skip moves the conversation on too.
        [skipped] = await h.command("lea", "skip")
        assert "Skipped" in skipped
        await h.runtime.advance(h.clock.now())
        everything = prompts(h, "lea")
        assert len(everything) == 3 and everything[2].choices, everything
        assert "1 more question after this one." in everything[1].text
        assert "after this one" not in everything[2].text

        # A choice answered by its label, typed in the chat.
        label = everything[2].choices[0]
        [picked] = await h.say("lea", label.lower())
        assert "Thank you" in picked and label in picked, picked
        stored = await checkins(h)
        assert [c.prompt_id for c in stored] == ["name-a-barrier", "backbone-international-contact"]
        assert stored[1].answer_choice == "yes"

        # Tom got the same first question, and nothing more, while he says nothing.
        assert len(prompts(h, "tom")) == 1


async def test_reminders_follow_the_conversation(tmp_path: Path, db_url: str) -> None:
    """Silent all day: one reminder for the conversation, then the next questions follow, each
    once its turn runs out, with no fresh reminders of their own."""
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, alliance()) as h:
        await h.run_until(MONDAY_NINE)
        assert len(prompts(h, "lea")) == 1
        await h.run_until(MONDAY_NINE + timedelta(hours=3, minutes=10))
        assert len(reminders(h, "lea")) == 1 and len(prompts(h, "lea")) == 1
        # The first question held the conversation through its reminder and one more interval.
        await h.run_until(MONDAY_NINE + timedelta(hours=5, minutes=50))
        assert len(prompts(h, "lea")) == 1
        await h.run_until(MONDAY_NINE + timedelta(hours=6, minutes=10))
        assert len(prompts(h, "lea")) == 2
        await h.run_until(MONDAY_NINE + timedelta(hours=24))
        assert len(prompts(h, "lea")) == 3
        assert len(reminders(h, "lea")) == 1  # the conversation's one reminder, not one each

        # The first question still takes a late answer in its thread.
        first = prompts(h, "lea")[0]
        [late] = await h.reply("lea", first.ref, "No time to meet.")
        assert "Thank you" in late


async def test_a_silent_member_gets_no_growing_backlog(tmp_path: Path, db_url: str) -> None:
    """Daily runs of seven questions with no reminders (each unanswered one holds the
    conversation four hours, so a day cannot ask them all): what a silent member has not been
    asked yet is replaced by the next run, never queued behind it."""
    daily = alliance(reminders="null", questions=SEVEN).replace('"0 9 * * MON"', '"0 9 * * *"')
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, daily) as h:
        most = 0
        moment = MONDAY_NINE
        for _ in range(5 * 6 - 1):  # through Saturday 05:05: five morning runs
            moment += timedelta(hours=4)
            await h.run_until(moment)
            async with h.runtime.db.session() as s:
                queued = await s.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.status == DeliveryStatus.QUEUED.value,
                        Delivery.member_id.is_not(None),
                    )
                )
            most = max(most, int(queued or 0))
        assert most <= 6 * 2, most  # at most one run's waiting questions, for each of two members
        asked = [r.text for r in prompts(h, "lea")]
        assert sum("barrier" in text for text in asked) == 5, asked  # every morning, afresh


async def test_all_at_once_sends_every_question_together(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, alliance("all at once")) as h:
        await h.run_until(MONDAY_NINE)
        assert len(prompts(h, "lea")) == 3


async def test_an_answer_that_starts_with_a_command_word_is_an_answer(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, alliance()) as h:
        await h.run_until(MONDAY_NINE)
        [stored] = await h.say("lea", "Back to basics: we never share calendars.")
        assert "Thank you" in stored and "Back to basics" in stored, stored
        await h.runtime.advance(h.clock.now())
        [second] = await h.say("lea", "Skip the small talk and meet.")
        assert "Thank you" in second, second
        assert [c.answer_text for c in await checkins(h)] == [
            "Back to basics: we never share calendars.",
            "Skip the small talk and meet.",
        ]
        # The word alone is still the command.
        await h.runtime.advance(h.clock.now())
        [skipped] = await h.say("lea", "skip")
        assert "Skipped" in skipped
        [not_away] = await h.say("lea", "back")
        assert "not marked away" in not_away
