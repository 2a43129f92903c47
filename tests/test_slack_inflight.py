"""Nothing lost, nothing twice, on Slack: answers that arrive while prompts are still going out.

The bot runs as a real ``alliance-bot run`` process (tests/botprocess.py) against the fake Slack
Web API, which lives in the test's event loop and enforces Slack's workspace cap; members'
answers reach the bot's Events API listener as signed HTTP requests. The last test runs the core
in-process with the console and Slack side by side.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from adapters.console.port import ConsolePort
from adapters.console.translate import parse_line
from adapters.slack import translate as tr
from adapters.slack.blocks import METADATA_REPLY
from adapters.slack.listeners import Where
from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bot.batcher import Item
from bot.clock import ManualClock
from bot.domain.values import DeliveryKind
from bot.events import InboundEvent
from bot.ports import ChatPort
from bot.runtime import Runtime
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery, ProcessedEvent
from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack import TEAM, TOKEN, FakeSlack
from tests.fakeslack_parts import Limits, Message
from tests.harnesses.slack import SECRET, SlackClient, message_event, outbox_kind

PER_MINUTE = 60
CAPPED = Limits(
    channel_per_second=1, channel_burst=3, workspace_per_minute=PER_MINUTE, workspace_burst=5
)
"""Slack's caps as the fake enforces them: ~1 message a second per channel, and a workspace
capped at 60 a minute after a short burst (the bot paces to the same 60 with a burst of 5)."""
ANSWER = "The bus to the branch library stops at six."


def user(n: int) -> str:
    return f"U0M{n:02d}"


def alliance(members: int, fire: datetime) -> str:
    """``members`` members on Slack, one campaign firing at ``fire`` (a whole minute, UTC)."""
    lines = [
        "alliance: {name: Paced Alliance, default_timezone: UTC}",
        "organisations:",
        "  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}",
        "members:",
        *(
            f'  - {{id: m{n:02d}, name: M{n}, organisation: org, slack: "{TEAM}:{user(n)}"}}'
            for n in range(1, members + 1)
        ),
        "campaigns:",
        "  - {key: pulse, name: Pulse, prompts: [name-a-barrier], audience: {organisations: "
        f"[org]}}, schedule: '{fire.minute} {fire.hour} * * *', timezone: UTC}}",
    ]
    return "\n".join(lines) + "\n"


async def prepared(url: str, tmp_path: Path, members: int) -> Path:
    """The alliance loaded into a fresh database whose campaign cursor stands just before the
    campaign's fire time (the last whole minute): the bot process fires it when it starts."""
    fire = datetime.now(UTC).replace(second=0, microsecond=0)
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, alliance(members, fire), encoding="utf-8")
    clock = ManualClock(fire - timedelta(seconds=30))
    unused = SlackPort(TOKEN, clock, api_url="http://127.0.0.1:9/api/")  # nothing is due yet
    runtime = Runtime(url, clock, {"slack": unused}, alliance_file=file, real_time=False)
    await runtime.start(sending=False)
    await runtime.stop()
    return file


def prompts(fake: FakeSlack) -> list[Message]:
    found = [m for ms in fake.messages.values() for m in ms if outbox_kind(m) == "prompt"]
    return sorted(found, key=lambda m: m.at)


def acks(fake: FakeSlack, prompt: Message) -> list[Message]:
    """The bot's replies in the prompt's thread, as the member sees them."""
    return [
        m
        for m in fake.channel(prompt.channel)
        if m.thread_ts == prompt.ts and (m.metadata or {}).get("event_type") == METADATA_REPLY
    ]


def is_ack(body: dict[str, Any]) -> bool:
    return (body.get("metadata") or {}).get("event_type") == METADATA_REPLY


class SlackBot:
    """The bot process on Slack, and a way to post signed events at it."""

    def __init__(self, tmp_path: Path, url: str, fake: FakeSlack, file: Path) -> None:
        self.port = free_port()
        env = bot_env(
            url,
            tmp_path / "data",
            ALLIANCE_FILE=str(file),
            CONSOLE__ENABLED="false",
            SLACK__API_URL=fake.api_url,
            SLACK__BOT_TOKEN=TOKEN,
            SLACK__SIGNING_SECRET=SECRET,
            SLACK__HOST="127.0.0.1",
            SLACK__PORT=str(self.port),
            SLACK__WORKSPACE_PER_MINUTE=str(PER_MINUTE),
            SLACK__CHANNEL_PER_SECOND="1",
        )
        self.process = BotProcess(env, tmp_path / "bot.log")
        self.session = aiohttp.ClientSession()
        self.slack = SlackClient(f"http://127.0.0.1:{self.port}/slack/events", self.session)

    async def start(self) -> None:
        await self.process.start()

        async def listening() -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True

        await self.process.until(listening, "the Events API listener", within=30)

    async def answer(self, prompt: Message, text: str, **headers: str) -> dict[str, Any]:
        """The prompt's member answers in its thread; returns the event as posted."""
        event = message_event("U" + prompt.channel[1:], prompt.channel, text, thread_ts=prompt.ts)
        await self.post(event, **headers)
        return event

    async def post(self, event: dict[str, Any], **headers: str) -> None:
        """As Slack does: an answer other than 200 gets the event again (here at once)."""
        for retry in range(4):
            retried = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
            status, body = await self.slack.event(event, **(headers | (retried if retry else {})))
            if status == 200:
                return
        raise AssertionError(f"the bot answered {status} {body!r} four times")

    async def close(self) -> None:
        await self.process.close()
        await self.session.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(limits=CAPPED)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def checkins_of(db: Database, slack_user: str) -> list[tuple[str | None, str, str]]:
    """(prompt message, answer, platform) of each check-in of the member with this account."""
    async with db.session() as s:
        rows = await s.execute(
            select(Delivery.message_ref, CheckIn.answer_text, CheckIn.platform)
            .join(Delivery, Delivery.id == CheckIn.delivery_id)
            .join(m.Identity, m.Identity.member_id == CheckIn.member_id)
            .where(m.Identity.platform == "slack", m.Identity.external_id == f"{TEAM}:{slack_user}")
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


async def processed(db: Database, event_id: str) -> int:
    async with db.session() as s:
        return int(
            await s.scalar(
                select(func.count())
                .select_from(ProcessedEvent)
                .where(ProcessedEvent.platform == "slack", ProcessedEvent.event_id == event_id)
            )
            or 0
        )


async def reply_rows(db: Database) -> list[tuple[str, int, str | None]]:
    """(status, attempts, message) of each reply in the outbox."""
    async with db.session() as s:
        rows = await s.execute(
            select(Delivery.status, Delivery.attempts, Delivery.message_ref)
            .where(Delivery.kind == DeliveryKind.REPLY.value)
            .order_by(Delivery.id)
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


def event_id(event: dict[str, Any]) -> str:
    return tr.message_ref(event["event"]["channel"], event["event"]["ts"])


# --- 1. an answer while a paced batch is going out -------------------------------------------


async def test_an_answer_mid_batch_is_stored_and_acknowledged_before_the_batch_ends(
    tmp_path: Path, sqlite_url: str, fake: FakeSlack
) -> None:
    """A workspace capped at 60 messages a minute, 50 members prompted by one campaign: the
    member who answers 3 s after the first prompt has their answer stored and acknowledged
    in the thread while most prompts are still waiting for their slot, once, even when Slack
    delivers the event again."""
    members = 50
    file = await prepared(sqlite_url, tmp_path, members)
    bot = SlackBot(tmp_path, sqlite_url, fake, file)
    db = Database(sqlite_url)
    try:
        await bot.start()
        await bot.process.until(lambda: len(prompts(fake)) >= 2, "the first prompts")
        first, second = prompts(fake)[:2]
        await asyncio.sleep(max(0.0, first.at + 3 - time.monotonic()))
        event = await bot.answer(first, ANSWER)
        stored = time.monotonic()  # the bot answers Slack once the answer is stored
        await bot.process.until(lambda: bool(acks(fake, first)), "the acknowledgement", within=60)
        ack = acks(fake, first)[0]
        assert ack.text.startswith("Thank you! Recorded") and ANSWER in ack.text
        delivered = [p for p in prompts(fake) if p.at <= ack.at]
        assert len(delivered) < members, "the acknowledgement waited behind the whole batch"
        overtaken = [p for p in delivered if p.at > stored]
        assert len(overtaken) <= 2, (
            f"{len(overtaken)} queued prompts went out between the answer and its "
            "acknowledgement: it did not take the next free slot"
        )

        # Slack delivers the same event again (as if it had seen no 200 in time); then another
        # member answers, an event the bot takes after the retry.
        await bot.post(event, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
        await bot.answer(second, "No room for the group on Tuesdays.")
        await bot.process.until(lambda: bool(acks(fake, second)), "the second acknowledgement")
        assert await checkins_of(db, "U" + first.channel[1:]) == [(first.ref, ANSWER, "slack")]
        assert await processed(db, event_id(event)) == 1
        assert len(acks(fake, first)) == 1
        assert len(prompts(fake)) < members, "the batch was still going out"
        print(f"\nacknowledged after {len(delivered)} of {members} prompts; {fake.stats()}")
    finally:
        await bot.close()
        await db.dispose()


# --- 2. SIGKILL between the check-in's commit and the acknowledgement ------------------------


@pytest.mark.parametrize("reached", [True, False], ids=["post-reached-slack", "post-lost"])
async def test_a_bot_killed_after_the_checkin_commits_acknowledges_once_after_restart(
    tmp_path: Path, db_url: str, fake: FakeSlack, reached: bool
) -> None:
    """The acknowledgement's chat.postMessage hangs (after Slack posted it, or before it got
    there); the check-in is stored; the bot is SIGKILLed and started again. The member ends
    with one check-in and exactly one acknowledgement."""
    file = await prepared(db_url, tmp_path, 1)
    bot = SlackBot(tmp_path, db_url, fake, file)
    db = Database(db_url)
    try:
        await bot.start()
        await bot.process.until(lambda: bool(prompts(fake)), "the prompt")
        prompt = prompts(fake)[0]
        hold = fake.hold("chat.postMessage", is_ack, effect=reached)
        event = await bot.answer(prompt, ANSWER)
        await bot.process.until(hold.arrived.is_set, "the acknowledgement's post")
        assert await checkins_of(db, user(1)) == [(prompt.ref, ANSWER, "slack")]
        assert [row[:2] for row in await reply_rows(db)] == [("sending", 0)]

        await bot.process.kill()
        hold.release()
        assert len(acks(fake, prompt)) == (1 if reached else 0)
        posted_before = acks(fake, prompt)

        await bot.start()

        async def replied() -> bool:
            return [row[0] for row in await reply_rows(db)] == ["sent"]

        await bot.process.until(replied, "the acknowledgement recorded as sent", within=30)
        assert len(acks(fake, prompt)) == 1, [a.text for a in acks(fake, prompt)]
        assert acks(fake, prompt)[0].text.startswith("Thank you! Recorded")
        if reached:  # found by its metadata, not posted again
            assert acks(fake, prompt) == posted_before
            assert (await reply_rows(db))[0][2] == posted_before[0].ref
        assert await checkins_of(db, user(1)) == [(prompt.ref, ANSWER, "slack")]
        assert await processed(db, event_id(event)) == 1
    finally:
        await bot.close()
        await db.dispose()


# --- 3. the console and Slack in one batch of answers ----------------------------------------

MIXED = """\
alliance: {name: Mixed Alliance, default_timezone: UTC}
organisations:
  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}
members:
  - {id: sam, name: Sam, organisation: org, slack: "T0TEST:U0SAM"}
  - {id: cora, name: Cora, organisation: org}
campaigns:
  - {key: pulse, name: Pulse, prompts: [name-a-barrier], audience: {organisations: [org]},
     schedule: "0 9 * * *", timezone: UTC}
"""


async def test_console_and_slack_answers_in_one_batch_each_mark_their_own_prompt(
    tmp_path: Path, db_url: str
) -> None:
    """Sam (Slack) and Cora (console, no Slack account) answer within the same batch: each
    check-in is tied to its own prompt on its own platform, each member is thanked where they
    wrote, and each prompt is marked answered on its own platform."""
    fake = await FakeSlack().start()
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, MIXED, encoding="utf-8")
    slack = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=Pacing.unlimited())
    console = ConsolePort(clock, files_dir=tmp_path / "files")
    ports: dict[str, ChatPort] = {"slack": slack, "console": console}
    runtime = Runtime(db_url, clock, ports, alliance_file=file, real_time=False)
    batches: list[list[str]] = []
    handle = runtime.batcher.handle

    async def watched(items: list[Item], patient: bool) -> list[Any]:
        batches.append(sorted(event.platform for event, _ in items))
        return await handle(items, patient)

    runtime.batcher.handle = watched
    try:
        await runtime.start()
        await slack.identify()
        await runtime.advance(datetime(2026, 11, 23, 9, 1, tzinfo=UTC))
        [slack_prompt] = prompts(fake)
        [console_prompt] = [c for c in console.messages if c.kind == "prompt"]
        assert (slack_prompt.channel, console_prompt.to) == ("D0SAM", "cora")

        now = clock.now()
        body = message_event(
            "U0SAM", "D0SAM", "Slack: no bus on Sundays.", thread_ts=slack_prompt.ts
        )
        from_slack = tr.message_event(body, now)
        assert from_slack is not None
        to_slack = Where(TEAM, "U0SAM", "D0SAM", slack_prompt.ts).reply_to(from_slack)
        from_console = parse_line(f"reply {console_prompt.ref} Console: no room.", "cora", now)
        assert isinstance(from_console, InboundEvent)
        await asyncio.gather(
            runtime.handle(from_console), runtime.handle(from_slack, to_slack)
        )  # both queued before the batcher runs: one batch
        assert ["console", "slack"] in batches
        assert await runtime.replies_sent()
        await runtime.tasks.wait()  # marking the prompts answered

        async with runtime.db.session() as s:
            rows = await s.execute(
                select(m.Member.handle, CheckIn.platform, Delivery.platform, Delivery.message_ref)
                .join(CheckIn, CheckIn.member_id == m.Member.id)
                .join(Delivery, Delivery.id == CheckIn.delivery_id)
            )
            stored = sorted(tuple(r) for r in rows.all())
        assert stored == [
            ("cora", "console", "console", console_prompt.ref),
            ("sam", "slack", "slack", slack_prompt.ref),
        ]
        thanked = [c for c in console.messages if c.answering == from_console.event_id]
        assert [c.text.startswith("Thank you") for c in thanked] == [True]
        assert [a.text.startswith("Thank you") for a in acks(fake, slack_prompt)] == [True]
        assert console_prompt.answered == "Console: no room."
        assert slack_prompt.updates == 1 and "Answer received" in str(slack_prompt.blocks)
    finally:
        await runtime.stop()
        await slack.close()
        await fake.stop()
