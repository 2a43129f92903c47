"""Pacing shared by the workers of one PostgreSQL database (``bot.ports.SharedPace``).

A generic cell rate algorithm whose state, the theoretical arrival time of the next request,
lives in one ``adapter_state`` row per key. Booking a slot is one atomic upsert: the row moves
on by one interval, and the caller sleeps until the slot it booked opens. Times are wall-clock
seconds, so workers on several hosts need clocks kept in step (NTP), as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, String, bindparam, text

from bot.storage.database import Database

PLATFORM = "pace"
_BOOK = text(
    """
    INSERT INTO adapter_state (platform, name, value, updated_at)
    VALUES (:platform, :key, :first, :at)
    ON CONFLICT (platform, name) DO UPDATE
    SET value = CAST(GREATEST(CAST(adapter_state.value AS double precision), :now)
                     + :interval AS text),
        updated_at = :at
    RETURNING value
    """
).bindparams(
    bindparam("platform", type_=String),
    bindparam("key", type_=String),
    bindparam("first", type_=String),
    bindparam("at", type_=DateTime(timezone=True)),
    bindparam("now", type_=Float),
    bindparam("interval", type_=Float),
)


_HOLD = text(
    """
    INSERT INTO adapter_state (platform, name, value, updated_at)
    VALUES (:platform, :key, :until, :at)
    ON CONFLICT (platform, name) DO UPDATE
    SET value = CAST(GREATEST(CAST(adapter_state.value AS double precision),
                              CAST(:until AS double precision)) AS text),
        updated_at = :at
    """
).bindparams(
    bindparam("platform", type_=String),
    bindparam("key", type_=String),
    bindparam("until", type_=String),
    bindparam("at", type_=DateTime(timezone=True)),
)
_READ = text("SELECT value FROM adapter_state WHERE platform = :platform AND name = :key")


class StorePace:
    def __init__(self, db: Database, now: Callable[[], float] = time.time) -> None:
        if db.is_sqlite:
            raise ValueError("SQLite serves one process: its pacing stays in the process")
        self.db = db
        self._now = now

    async def book(self, key: str, per_second: float, burst: int) -> float:
        if per_second <= 0:  # no rate of our own: only a hold some worker met
            async with self.db.session() as s:
                held = await s.scalar(_READ, {"platform": PLATFORM, "key": key[:255]})
            return max(0.0, float(held) - self._now()) if held is not None else 0.0
        interval = 1.0 / per_second
        tolerance = max(burst - 1, 0) * interval
        now = self._now()
        async with self.db.session() as s:
            value = await s.scalar(
                _BOOK,
                {
                    "platform": PLATFORM,
                    "key": key[:255],
                    "first": repr(now + interval),
                    "at": datetime.now(UTC),
                    "now": now,
                    "interval": interval,
                },
            )
        slot = float(value) - interval
        return max(0.0, slot - tolerance - self._now())  # counted from now: the booking took time

    async def hold(self, key: str, seconds: float) -> None:
        """The next slot under ``key``, for every worker, is ``seconds`` from now at the
        earliest (a rate's schedule moves on from there)."""
        async with self.db.session() as s:
            await s.execute(
                _HOLD,
                {
                    "platform": PLATFORM,
                    "key": key[:255],
                    "until": repr(self._now() + max(seconds, 0.0)),
                    "at": datetime.now(UTC),
                },
            )
