"""Honouring the homeserver's “slow down” (M_LIMIT_EXCEEDED) for every send of the account,
and, with several workers on one account, for all of them (``Rate``)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bot.ports import SharedPace


class Pacer:
    """Honours M_LIMIT_EXCEEDED for every send of the account.

    Unlimited, sends run concurrently. After a 429 they go one at a time, each at the moment
    the homeserver named (``retry_after_ms``, else ``Retry-After``), counted from when the
    refused request left, so it arrives as the slot opens; the first send that passes without
    waiting or being refused ends the limited mode.
    """

    def __init__(self) -> None:
        self.limited = False
        self.holds = 0
        """How many times the homeserver said “slow down”."""
        self.not_before = 0.0
        self.turn = asyncio.Lock()
        """Held by the one send allowed at a time while limited."""
        self.waited = 0.0
        """Seconds sends spent queued for their turn, in total."""

    def hold(self, retry_after: float, sent_at: float) -> None:
        self.holds += 1
        self.limited = True
        self.not_before = max(self.not_before, sent_at + retry_after + 0.001)

    async def wait_turn(self) -> bool:
        """Sleep until the homeserver's next free slot; True if that took a sleep."""
        delay = self.not_before - time.monotonic()
        if delay <= 0:
            return False
        await asyncio.sleep(delay)
        return True


def retry_after_seconds(body_ms: object, header: str | None, default: float = 1.0) -> float:
    if isinstance(body_ms, int | float) and body_ms >= 0:
        return float(body_ms) / 1000
    if header:
        try:
            return max(float(header), 0.0)
        except ValueError:
            pass
    return default


class MemoryPace:
    """A ``SharedPace`` for one process (SQLite): the same schedule, kept in memory."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    async def book(self, key: str, per_second: float, burst: int) -> float:
        now = time.time()
        slot = max(self._next.get(key, 0.0), now)
        if per_second <= 0:
            return slot - now
        interval = 1.0 / per_second
        self._next[key] = slot + interval
        return max(0.0, slot - max(burst - 1, 0) * interval - now)

    async def hold(self, key: str, seconds: float) -> None:
        self._next[key] = max(self._next.get(key, 0.0), time.time() + seconds)


@dataclass
class Rate:
    """The account's messages, booked under ``key`` with every worker on the database: at
    most ``per_second`` (0: no rate of our own), and a “slow down” one worker met holds all."""

    shared: SharedPace
    key: str
    per_second: float = 0.0
    burst: int = 5
    waited: float = field(default=0.0)

    async def slot(self) -> None:
        delay = await self.shared.book(self.key, self.per_second, self.burst)
        if delay > 0:
            self.waited += delay
            await asyncio.sleep(delay)

    async def hold(self, seconds: float) -> None:
        await self.shared.hold(self.key, seconds)
