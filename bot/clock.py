"""Clocks: the system's, and one that tests and demonstrations move by hand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Stands still until told to move; tests use it to make days pass."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment < self._now:
            raise ValueError("time does not run backwards")
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)


async def fast_forward(
    advance: Callable[[datetime], Awaitable[None]],
    stop: asyncio.Event,
    clock: ManualClock,
    speed: float,
    step_seconds: float = 60.0,
) -> None:
    """Move ``clock`` a step at a time, ``speed`` times faster than real, until ``stop``.

    Every step is handled in full (runs, reminders, sends: ``advance``) before the next, so
    nothing is late or missed however fast the clock goes.
    """
    step = timedelta(seconds=step_seconds)
    while not stop.is_set():
        try:
            await advance(clock.now() + step)
        except Exception:
            log.exception("a fast-forward step failed; trying the next one")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=step_seconds / speed)
