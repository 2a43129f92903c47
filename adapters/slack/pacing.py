"""Pacing sends so Slack never has to say “slow down”: per channel and per workspace.

Each limit is a GCRA schedule (a token bucket kept as one timestamp). ``acquire()`` lets senders
through one at a time in arrival order (a FIFO lock): each sleeps until the schedule allows it and
takes its slot only then, so a stalled event loop cannot release a clump of sends booked before
the stall. ``pause()`` honours a Retry-After for everyone at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.ports import SharedPace


@dataclass(frozen=True)
class Pacing:
    """Rates for one workspace. Slack's chat.postMessage allows about one message a second per
    channel with short bursts, and several hundred a minute per workspace; Tier 3 methods
    (chat.update, conversations.open, conversations.history) about 50 a minute.
    Tests and benchmarks scale these up."""

    channel_per_second: float = 1.0
    channel_burst: int = 1
    workspace_per_minute: float = 600.0
    workspace_burst: int = 5
    tier3_per_minute: float = 50.0
    """Per method, for chat.update, conversations.history and conversations.open."""
    tier3_burst: int = 5

    @classmethod
    def unlimited(cls) -> Pacing:
        return cls(channel_per_second=0.0, workspace_per_minute=0.0, tier3_per_minute=0.0)


class Gcra:
    """``per_second`` with ``burst`` slots of slack; ``per_second <= 0`` means no limit."""

    def __init__(
        self, per_second: float, burst: int = 1, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.tolerance = max(burst - 1, 0) * self.interval
        self._now = now
        self._tat = 0.0  # the theoretical arrival time of the next request
        self._held_until = 0.0  # nothing goes out before this (a Retry-After)
        self._lock = asyncio.Lock()

    def peek(self) -> float:
        """The seconds until a slot would be free, without booking it."""
        now = self._now()
        return max(0.0, max(self._tat, now) - self.tolerance - now)

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait for a slot, then take it (senders go in the order they came, except that a
        ``priority`` sender, a person waiting on a reply, takes the next free slot)."""
        if self.interval == 0.0 and self.peek() == 0.0:
            return
        if priority:  # book the next slot at once, so no queued sender can take it meanwhile
            delay = self.peek()
            self._tat = max(self._tat, self._now()) + self.interval
            if delay > 0:
                await asyncio.sleep(delay)
            await self.held()  # a Retry-After that came while it slept
            return
        async with self._lock:
            delay = self.peek()
            while delay > 0:
                await asyncio.sleep(delay)
                delay = self.peek()  # again after waking: a pause may have come meanwhile
            self._tat = max(self._tat, self._now()) + self.interval

    async def held(self) -> None:
        """Wait out a Retry-After, if one holds."""
        while (held := self._held_until - self._now()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(held)

    def pause(self, seconds: float) -> None:
        """Nothing goes out for ``seconds`` (a Retry-After)."""
        self._tat = max(self._tat, self._now() + seconds + self.tolerance)
        self._held_until = max(self._held_until, self._now() + seconds)

    def idle(self) -> bool:
        return self._tat <= self._now()


class Pacer:
    """The limits of one workspace: ``await pacer.message(channel)`` before each post."""

    def __init__(self, pacing: Pacing, now: Callable[[], float] = time.monotonic) -> None:
        self.pacing = pacing
        self._now = now
        self.workspace = Gcra(pacing.workspace_per_minute / 60.0, pacing.workspace_burst, now)
        self._methods: dict[str, Gcra] = {}
        self._channels: dict[str, Gcra] = {}
        self._booked = 0
        self._shared: tuple[SharedPace, str] | None = None

    def share(self, shared: SharedPace, key: str) -> None:
        """Book the workspace's slots in the store, with every other worker (PostgreSQL)."""
        self._shared = (shared, key)

    async def message(self, channel: str, *, priority: bool = False) -> None:
        """A chat.postMessage to ``channel``: its own slot first, then the workspace's."""
        await self._channel(channel).acquire(priority=priority)
        if self._shared is None:
            await self.workspace.acquire(priority=priority)
            return
        shared, key = self._shared
        per_second = self.pacing.workspace_per_minute / 60.0
        delay = await shared.book(key, per_second, self.pacing.workspace_burst)
        if delay > 0:
            await asyncio.sleep(delay)
        await self.workspace.held()  # a Retry-After this worker met

    async def method(self, name: str, max_wait: float | None = None) -> bool:
        """A Tier 3 call of ``name``; False (and nothing booked) when its slot is more than
        ``max_wait`` seconds away, for calls worth making only soon."""
        limit = self._methods.get(name)
        if limit is None:
            limit = Gcra(self.pacing.tier3_per_minute / 60.0, self.pacing.tier3_burst, self._now)
            self._methods[name] = limit
        if max_wait is not None and limit.peek() > max_wait:
            return False
        await limit.acquire()
        return True

    def pause(self, seconds: float) -> None:
        """Slack answered 429: hold every call in this workspace for ``seconds``."""
        self.workspace.pause(seconds)
        for limit in self._methods.values():
            limit.pause(seconds)

    def _channel(self, channel: str) -> Gcra:
        limit = self._channels.get(channel)
        if limit is None:
            self._booked += 1
            if self._booked % 1024 == 0:  # keep the table to the channels in use
                self._channels = {k: v for k, v in self._channels.items() if not v.idle()}
            limit = Gcra(self.pacing.channel_per_second, self.pacing.channel_burst, self._now)
            self._channels[channel] = limit
        return limit

    def __len__(self) -> int:
        return len(self._channels)
