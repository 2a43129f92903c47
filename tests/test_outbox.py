"""The outbox: outages are retried with backoff, “slow down” is honoured, nothing is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.console.port import ConsolePort
from bot.ports import (
    Attachment,
    Destination,
    Outgoing,
    PlatformError,
    RateLimited,
    Sent,
    Waiting,
)
from bot.storage.records import Delivery
from tests.harnesses.console import ConsoleHarness

SUNDAY = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
BERLIN_NINE = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class FlakyPort(ConsolePort):
    """A console that fails the way platforms do, as many times as told."""

    def __init__(self, *args: object, failures: list[Exception], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.failures = failures
        self.calls: list[datetime] = []

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        self.calls.append(self.clock.now())
        if self.failures:
            raise self.failures.pop(0)
        return await super().send(to, message)

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        return await super().upload(to, attachment, comment)


async def statuses(h: ConsoleHarness) -> list[tuple[str, int]]:
    async with h.runtime.db.session() as s:
        return [
            (d.status, d.attempts)
            for d in (
                await s.scalars(select(Delivery).where(Delivery.member_id.is_not(None)))
            ).all()
        ]


async def test_a_failing_platform_is_retried_with_backoff_and_sends_once(
    tmp_path: Path, db_url: str
) -> None:
    h = ConsoleHarness(tmp_path, db_url, SUNDAY)
    port = FlakyPort(h.clock, failures=[PlatformError("502"), PlatformError("timeout")])
    h.port = port
    await h.new_runtime(port).start()
    try:
        await h.runtime.advance(BERLIN_NINE)
        assert h.inbox("berta") == []
        assert len(port.calls) == 1
        await h.runtime.advance(BERLIN_NINE + timedelta(seconds=20))  # backoff not over
        assert len(port.calls) == 1
        for minutes in range(1, 10):
            await h.runtime.advance(BERLIN_NINE + timedelta(minutes=minutes))
        assert len(port.calls) == 3
        assert [r.kind for r in h.inbox("berta")] == ["prompt"]
        gaps = [b - a for a, b in zip(port.calls, port.calls[1:], strict=False)]
        assert gaps[1] >= gaps[0]  # exponential: the second wait is not shorter
    finally:
        await h.runtime.stop()


async def test_slow_down_is_honoured(tmp_path: Path, db_url: str) -> None:
    h = ConsoleHarness(tmp_path, db_url, SUNDAY)
    port = FlakyPort(h.clock, failures=[RateLimited(30.0)])
    h.port = port
    await h.new_runtime(port).start()
    try:
        await h.runtime.advance(BERLIN_NINE)
        await h.runtime.advance(BERLIN_NINE + timedelta(seconds=29))
        assert len(port.calls) == 1
        await h.runtime.advance(BERLIN_NINE + timedelta(seconds=31))
        assert len(port.calls) == 2
        assert [r.kind for r in h.inbox("berta")] == ["prompt"]
    finally:
        await h.runtime.stop()


async def test_waiting_on_the_person_is_no_failed_attempt_but_has_a_limit(
    tmp_path: Path, db_url: str
) -> None:
    """A platform waiting on the member (a DM not yet accepted) checks again without using up
    attempts; after three days it gives up and says why."""
    h = ConsoleHarness(tmp_path, db_url, SUNDAY)
    waiting = [Waiting(600.0, "berta has not accepted the direct chat yet") for _ in range(500)]
    port = FlakyPort(h.clock, failures=waiting)
    h.port = port
    await h.new_runtime(port).start()
    try:
        await h.runtime.advance(BERLIN_NINE)
        for hours in range(1, 13):  # 12 hours: far beyond the 4 attempts the harness allows
            await h.runtime.advance(BERLIN_NINE + timedelta(hours=hours))
        assert ("pending", 0) in await statuses(h)
        assert 12 <= len(port.calls) <= 80  # every 10 minutes at most, not in a busy loop
        port.failures.clear()  # the member accepts
        await h.runtime.advance(BERLIN_NINE + timedelta(hours=12, minutes=11))
        assert [r.kind for r in h.inbox("berta")][:1] == ["prompt"]

        port.failures[:] = [Waiting(3600.0, "still not accepted") for _ in range(500)]
        await h.run_until(BERLIN_NINE + timedelta(days=5), timedelta(hours=6))
        async with h.runtime.db.session() as s:
            gave_up = (await s.scalars(select(Delivery).where(Delivery.status == "failed"))).all()
        assert gave_up and all("gave up waiting after" in (d.last_error or "") for d in gave_up)
    finally:
        await h.runtime.stop()


async def test_an_outage_across_a_restart_loses_nothing(tmp_path: Path, db_url: str) -> None:
    h = ConsoleHarness(tmp_path, db_url, SUNDAY)
    down = FlakyPort(h.clock, failures=[PlatformError("down")] * 50)
    await h.new_runtime(down).start()
    await h.runtime.advance(BERLIN_NINE)
    await h.runtime.stop()
    assert await statuses(h) == [("pending", 1)]
    h.clock.set(BERLIN_NINE + timedelta(hours=1))
    await h.new_runtime().start()  # the platform is back
    await h.runtime.settle()
    await h.runtime.stop()
    assert [r.kind for r in h.inbox("berta")] == ["prompt"]
    assert await statuses(h) == [("sent", 2)]
    await h.runtime.db.dispose()
