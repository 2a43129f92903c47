"""The Slack port against the fake Web API: pacing, 429s, errors, DMs, uploads, updates."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bot.clock import ManualClock
from bot.ports import (
    Attachment,
    ChoiceOption,
    Destination,
    DestinationKind,
    Outgoing,
    PlatformError,
    RateLimited,
    Rejected,
)
from bot.runtime import Runtime
from bot.storage.records import Delivery
from tests.fakeslack import TOKEN, FakeSlack
from tests.fakeslack_parts import Limits, Message
from tests.harnesses.slack import outbox_kind

CLOCK = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
BERTA = Destination(DestinationKind.PERSON, "T0TEST:U0BERTA")
HELLO = Outgoing("Hello", kind="prompt", delivery_id=1, answer_kind="text")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    try:
        yield server
    finally:
        await server.stop()


async def port_for(fake: FakeSlack, pacing: Pacing | None = None, token: str = TOKEN) -> SlackPort:
    port = SlackPort(token, CLOCK, api_url=fake.api_url, pacing=pacing or Pacing.unlimited())
    await port.identify()
    return port


def person(n: int) -> Destination:
    return Destination(DestinationKind.PERSON, f"T0TEST:U0M{n:04d}")


async def test_a_429_pauses_every_call_and_leaves_the_retry_to_the_outbox() -> None:
    """The port tries once: the 429 reaches the outbox as RateLimited with Slack's wait, and
    meanwhile the port's pacer holds every other call until that wait is over."""
    fake = await FakeSlack(limits=Limits(workspace_per_minute=60)).start()  # 1 a second
    port = await port_for(fake)  # the port does not pace: the fake will say 429
    try:
        first, second = await asyncio.gather(
            port.send(person(1), HELLO), port.send(person(2), HELLO), return_exceptions=True
        )
        refused = first if isinstance(first, BaseException) else second
        assert isinstance(refused, RateLimited) and refused.retry_after >= 1
        assert fake.rate_limited == 1 and port.stats.rate_limited == 1  # one try, no loop
        started = time.monotonic()
        await port.send(person(3), HELLO)  # waits out the Retry-After instead of a second 429
        assert time.monotonic() - started >= 0.9 and fake.rate_limited == 1
        assert len([m for ch in fake.messages.values() for m in ch]) == 2
    finally:
        await port.close()
        await fake.stop()


async def test_the_outbox_waits_as_slack_asked_and_sends_each_prompt_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with three_members_on_slack(tmp_path, sqlite_url) as (fake, runtime):
        fake.fail("chat.postMessage", 429, "ratelimited", times=2)
        await runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
        async with runtime.db.session() as s:
            waiting = (await s.scalars(select(Delivery).where(Delivery.status == "pending"))).all()
        assert waiting and all(d.attempts == 0 for d in waiting)  # a 429 costs no attempt
        assert all("rate limited" in (d.last_error or "") for d in waiting)
        assert all(d.next_attempt_at is not None for d in waiting)
        await runtime.advance(datetime(2026, 11, 23, 9, 1, tzinfo=UTC))
        async with runtime.db.session() as s:
            statuses = Counter((await s.scalars(select(Delivery.status))).all())
        assert statuses == {"sent": 12}
        prompts = [m for ch in fake.messages.values() for m in ch if outbox_kind(m) == "prompt"]
        assert len(prompts) == 12 and fake.stats()["duplicates"] == 0


async def test_slack_errors_become_the_cores_errors(fake: FakeSlack) -> None:
    port = await port_for(fake)
    try:
        fake.fail("chat.postMessage", 503, "service_unavailable")
        with pytest.raises(PlatformError):
            await port.send(BERTA, HELLO)
        fake.fail("chat.postMessage", 200, "user_not_found")
        with pytest.raises(Rejected):
            await port.send(BERTA, HELLO)
        with pytest.raises(Rejected):  # an account in a workspace this token cannot reach
            await port.send(Destination(DestinationKind.PERSON, "T0ELSE:U0X"), HELLO)
        await port.send(BERTA, HELLO)  # and then it works again
    finally:
        await port.close()
    bad = SlackPort("xoxb-wrong", CLOCK, api_url=fake.api_url)
    with pytest.raises(Rejected, match="invalid_auth"):
        await bad.identify()
    await bad.close()
    gone = SlackPort(TOKEN, CLOCK, api_url="http://127.0.0.1:9/api/")
    with pytest.raises(PlatformError):
        await gone.send(BERTA, HELLO)
    await gone.close()


async def test_one_shared_session_and_dms_without_opening_them(fake: FakeSlack) -> None:
    port = await port_for(fake)
    try:
        first = await port.send(BERTA, HELLO)
        assert first.address == "D0BERTA" and first.message_ref.startswith("D0BERTA:")
        for _ in range(20):
            await port.send(BERTA, HELLO)
        channels = [c.body["channel"] for c in fake.method_calls("chat.postMessage")]
        assert channels[0] == "U0BERTA" and set(channels[1:]) == {"D0BERTA"}
        assert fake.method_calls("conversations.open") == []
        assert len(fake.peers) == 1  # every call on one kept-alive connection
        reminder = await port.send(
            Destination(DestinationKind.PERSON, BERTA.target, thread=first.message_ref),
            Outgoing("Reminder", kind="reminder", delivery_id=1),
        )
        assert reminder.thread_ref == first.message_ref
        assert fake.channel("D0BERTA")[-1].thread_ts == first.message_ref.split(":")[1]
    finally:
        await port.close()


async def test_upload_opens_the_dm_once_and_uses_files_upload_v2(fake: FakeSlack) -> None:
    port = await port_for(fake)
    chart = Attachment("chart.png", b"\x89PNG fake", "image/png", "Responses")
    try:
        sent = await port.upload(BERTA, chart, "Your <!channel> chart")
        await port.upload(BERTA, Attachment("export.csv", b"a,b", "text/csv"))
        assert sent.address == "D0BERTA"
        assert len(fake.method_calls("conversations.open")) == 1
        [first, _] = fake.files.values()
        assert first["content"] == b"\x89PNG fake" and first["channel"] == "D0BERTA"
        assert first["initial_comment"] == "Your &lt;!channel&gt; chart"
        assert [c.method for c in fake.calls][1:4] == [
            "conversations.open",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
        ]
    finally:
        await port.close()


async def test_mark_answered_replaces_the_buttons(fake: FakeSlack) -> None:
    port = await port_for(fake)
    try:
        prompt = Outgoing(
            "Contact?",
            kind="prompt",
            delivery_id=5,
            answer_kind="choice",
            choices=(ChoiceOption("yes", "Yes"), ChoiceOption("no", "No")),
        )
        sent = await port.send(BERTA, prompt)
        await port.mark_answered(sent, BERTA, "Yes")
        [message] = fake.channel("D0BERTA")
        assert "Answer received: Yes" in message.text and "Contact?" in message.text
        assert [b["type"] for b in message.blocks] == ["section", "context"]
        assert message.metadata == message.posted["metadata"]  # still says what it is
        fake.fail("conversations.history", 500)
        await port.mark_answered(sent, BERTA, "No")  # cosmetic: a failure is only logged
    finally:
        await port.close()


def thousand_alliance(members: int) -> str:
    prompts = [
        "name-a-barrier",
        "comms-thank-an-advocate",
        "backbone-decision-maker-champion",
        "backbone-map-international-bodies",
    ]
    lines = [
        "alliance: {name: Big, default_timezone: UTC}",
        "organisations:",
        "  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}",
        "members:",
    ]
    lines += [
        f'  - {{id: m{n:04d}, name: M{n}, organisation: org, slack: "T0TEST:U0M{n:04d}"}}'
        for n in range(members)
    ]
    lines.append("campaigns:")
    for i, prompt in enumerate(prompts):
        lines += [
            f"  - key: c{i}",
            f"    name: Campaign {i}",
            f"    prompts: [{prompt}]",
            "    ask: all at once",  # a send for each campaign: the pacing is under test
            '    schedule: "0 9 * * *"',
            "    timezone: UTC",
        ]
    return "\n".join(lines) + "\n"


async def test_a_thousand_prompts_arrive_once_within_the_limits(
    tmp_path: Path, sqlite_url: str
) -> None:
    """250 members x 4 campaigns due at once: each DM channel gets 4 prompts at 1 a second,
    the workspace 200 a second (Slack's cap scaled up 20x so this takes seconds)."""
    limits = Limits(channel_per_second=1, workspace_per_minute=12_000, workspace_burst=10)
    pacing = Pacing(channel_per_second=1, workspace_per_minute=12_000, workspace_burst=5)
    fake = await FakeSlack(limits=limits).start()
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, thousand_alliance(250), encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 8, 59, tzinfo=UTC))
    port = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=pacing)
    runtime = Runtime(sqlite_url, clock, {"slack": port}, alliance_file=file, real_time=False)
    await runtime.start()
    try:
        started = time.monotonic()
        await runtime.advance(datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC))
        took = time.monotonic() - started
        await runtime.advance(datetime(2026, 11, 23, 9, 1, tzinfo=UTC))  # any 429's wait is over
        prompts = [m for ch in fake.messages.values() for m in ch if outbox_kind(m) == "prompt"]
        ids = Counter(m.posted["metadata"]["event_payload"]["delivery_id"] for m in prompts)
        assert len(prompts) == 1000 and len(ids) == 1000, (len(prompts), len(ids))
        assert set(Counter(m.channel for m in prompts).values()) == {4}
        assert fake.rate_limited <= 10, fake.rate_limited  # under 1% of calls answered 429
        assert min(gaps(fake.messages.values())) >= 1.0 - limits.jitter
        assert took >= (1000 - 10) / 200  # the workspace cap held
        async with runtime.db.session() as s:
            sent = await s.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
            )
        assert sent == 1000
    finally:
        await runtime.stop()
        await port.close()
        await fake.stop()


def gaps(channels: object) -> list[float]:
    found = []
    for messages in channels:  # type: ignore[attr-defined]
        ordered: list[Message] = sorted(messages, key=lambda m: m.at)
        found += [b.at - a.at for a, b in zip(ordered, ordered[1:], strict=False)]
    return found


async def test_a_send_after_close_still_goes_out_on_a_session_of_its_own(fake: FakeSlack) -> None:
    port = await port_for(fake)
    await port.close()  # serve() stops adapters before the runtime's last drain
    sent = await port.send(BERTA, HELLO)
    assert sent.address == "D0BERTA" and len(fake.channel("D0BERTA")) == 1


@contextlib.asynccontextmanager
async def three_members_on_slack(
    tmp_path: Path, sqlite_url: str
) -> AsyncIterator[tuple[FakeSlack, Runtime]]:
    """Three members, four campaigns due at 09:00, the real outbox, an unlimited fake Slack."""
    fake = await FakeSlack().start()
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, thousand_alliance(3), encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 8, 59, tzinfo=UTC))
    port = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=Pacing.unlimited())
    runtime = Runtime(sqlite_url, clock, {"slack": port}, alliance_file=file, real_time=False)
    await runtime.start()
    try:
        yield fake, runtime
    finally:
        await runtime.stop()
        await port.close()
        await fake.stop()
