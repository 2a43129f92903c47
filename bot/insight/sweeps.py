"""The planner's extra sweeps for insight: follow-ups of connections and turn-the-curve
exercises. They look at most once an hour (a tick comes every minute), and each is safe to
run twice: what they send has a key of its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.insight import curve
from bot.partners import follow_up
from bot.scheduling.planner import Sweep


class Hourly:
    def __init__(self, work: Sweep) -> None:
        self.work = work
        self.last: datetime | None = None

    async def __call__(self, s: AsyncSession, now: datetime) -> int:
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self.last == hour:
            return 0
        self.last = hour
        return await self.work(s, now)


def sweeps() -> list[Sweep]:
    return [Hourly(follow_up.sweep), Hourly(curve.sweep)]
