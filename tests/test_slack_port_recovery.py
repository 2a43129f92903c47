"""The Slack port when Slack's answer is lost or Slack is down: nothing is posted twice, and
an outage of the Web API waits without using up a prompt's attempts."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.ports import (
    Destination,
    DestinationKind,
    Outgoing,
    PlatformError,
)
from bot.runtime import Runtime
from bot.storage.records import Delivery
from tests.fakeslack import FakeSlack
from tests.harnesses.slack import outbox_kind
from tests.test_slack_port import BERTA, fake, port_for, three_members_on_slack

__all__ = ["fake"]


async def test_a_lost_response_is_not_posted_twice(fake: FakeSlack) -> None:
    """Slack posted, but its answer never arrived (a 503 after the fact): the retry finds the
    message by the key in its metadata instead of posting a second copy, top level or in a
    thread; a message never posted is posted on the retry."""
    port = await port_for(fake)
    try:
        prompt = Outgoing("Name a barrier", kind="prompt", delivery_id=5, idempotency_key="p:5")
        fake.lose("chat.postMessage")
        with pytest.raises(PlatformError):
            await port.send(BERTA, prompt)
        assert len(fake.channel("D0BERTA")) == 1  # it is there, though the bot was not told
        retried = await port.send(BERTA, replace(prompt, attempt=1))
        [message] = fake.channel("D0BERTA")
        assert retried.message_ref == message.ref

        in_thread = Destination(DestinationKind.PERSON, BERTA.target, thread=message.ref)
        reminder = Outgoing("Reminder", kind="reminder", delivery_id=6, idempotency_key="r:6")
        fake.lose("chat.postMessage")
        with pytest.raises(PlatformError):
            await port.send(in_thread, reminder)
        again = await port.send(in_thread, replace(reminder, attempt=1))
        replies = [m for m in fake.channel("D0BERTA") if m.thread_ts == message.ts]
        assert [m.ref for m in replies] == [again.message_ref]

        fake.fail("chat.postMessage", 500)  # failed before posting: the retry posts
        other = Outgoing("Name a need", kind="prompt", delivery_id=7, idempotency_key="p:7")
        with pytest.raises(PlatformError):
            await port.send(BERTA, other)
        posted = await port.send(BERTA, replace(other, attempt=1))
        assert (
            len(fake.channel("D0BERTA")) == 3
            and posted.message_ref == fake.channel("D0BERTA")[-1].ref
        )
        assert fake.stats()["duplicates"] == 0
    finally:
        await port.close()


async def test_the_outbox_retry_after_a_lost_response_posts_nothing_twice(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with three_members_on_slack(tmp_path, sqlite_url) as (fake, runtime):
        fake.lose("chat.postMessage", times=5)
        await runtime.advance(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))  # retries fall due
        lost = [c for c in fake.method_calls("chat.postMessage") if c.status == 503]
        assert len(lost) == 5
        await runtime.advance(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
        async with runtime.db.session() as s:
            statuses = Counter((await s.scalars(select(Delivery.status))).all())
        assert statuses == {"sent": 12}
        prompts = [m for ch in fake.messages.values() for m in ch if outbox_kind(m) == "prompt"]
        assert len(prompts) == 12 and fake.stats()["duplicates"] == 0


async def test_a_crash_after_slack_posted_does_not_post_again(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after Slack posted but before the outbox wrote down the outcomes: the
    rows are still claimed as being sent, so the restarted bot looks before posting, and
    only for those rows."""
    async with three_members_on_slack(tmp_path, sqlite_url) as (fake, runtime):

        async def died(delivery_id: int, values: object) -> None:
            raise RuntimeError("the process died before writing the outcome down")

        monkeypatch.setattr(runtime.dispatcher.journal, "record", died)
        await runtime.advance(datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC))
        assert len(fake.method_calls("chat.postMessage")) == 12  # Slack has them all
        async with runtime.db.session() as s:
            rows = (await s.scalars(select(Delivery))).all()
        assert {d.status for d in rows} == {"sending"}
        assert all(d.claimed_by == runtime.dispatcher.worker for d in rows)
        port = runtime.ports["slack"]
        restarted = Runtime(sqlite_url, runtime.clock, {"slack": port}, real_time=False)
        await restarted.start()  # the claims of the dead process are taken back at once
        try:
            await restarted.advance(datetime(2026, 11, 23, 9, 1, tzinfo=UTC))
            async with restarted.db.session() as s:
                statuses = Counter((await s.scalars(select(Delivery.status))).all())
        finally:
            await restarted.stop()
        assert statuses == {"sent": 12}
        assert len(fake.method_calls("chat.postMessage")) == 12
        assert len(fake.method_calls("conversations.history")) == 12  # one look per lost row
        assert fake.stats()["duplicates"] == 0


async def test_prompts_wait_out_a_slack_outage_without_using_attempts(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Slack cannot be reached for an hour: nothing was posted, so no attempt is used up and
    no row fails; when Slack is back every prompt goes out once."""
    async with three_members_on_slack(tmp_path, sqlite_url) as (fake, runtime):
        port = int(fake.api_url.split(":")[2].split("/")[0])
        await fake.stop()
        await runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
        for minutes in range(5, 65, 5):  # an hour of outage, the outbox trying now and then
            await runtime.advance(
                datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(minutes=minutes)
            )
        async with runtime.db.session() as s:
            rows = (await s.scalars(select(Delivery))).all()
        assert {(d.status, d.attempts) for d in rows} == {("pending", 0)}
        assert all((d.last_error or "").startswith("unreachable") for d in rows)
        back = await FakeSlack().start(port=port)
        try:
            await runtime.advance(datetime(2026, 11, 23, 10, 10, tzinfo=UTC))
            async with runtime.db.session() as s:
                statuses = Counter((await s.scalars(select(Delivery.status))).all())
            assert statuses == {"sent": 12}
            prompts = [m for ch in back.messages.values() for m in ch if outbox_kind(m) == "prompt"]
            assert len(prompts) == 12 and back.stats()["duplicates"] == 0
        finally:
            await back.stop()
