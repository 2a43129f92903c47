"""APScheduler 3 behind the core: one job per campaign wakes the planner at its local times.

A campaign's job fires at the next local time of any of its time zones (an OrTrigger over one
cron trigger per zone), so 10,000 members in 40 zones cost one job, not 10,000. The planner
decides what is due from the database; the jobs only say *when* to look. APScheduler's types
never leave this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from bot.scheduling.cron import parse_cron
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.outage import is_outage

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, planner: Planner, *, sweep_seconds: float = 60.0) -> None:
        self.planner = planner
        self.sweep_seconds = sweep_seconds
        self._daily: dict[str, Callable[[], Awaitable[None]]] = {}
        self._running: set[asyncio.Task[Any]] = set()
        """Job runs under way: waited for (or cancelled) before the database closes."""
        self._aps = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    @property
    def job_count(self) -> int:
        return len(self._aps.get_jobs())

    def start(self) -> None:
        self._aps.add_job(
            self._sweep,
            IntervalTrigger(seconds=self.sweep_seconds),
            id="sweep",
            replace_existing=True,
        )
        for name in self._daily:
            self._aps.add_job(
                self._run_daily,
                IntervalTrigger(days=1),
                args=[name],
                id=f"daily:{name}",
                next_run_time=datetime.now(UTC),
                replace_existing=True,
            )
        self._aps.start()

    def every_day(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``job`` once the scheduler starts, then daily (the retention purge)."""
        self._daily[name] = job

    async def _run_daily(self, name: str) -> None:
        self._track()
        try:
            await self._daily[name]()
        except asyncio.CancelledError:  # the bot is stopping: not an error to report
            log.info("the %s run stopped with the bot; it runs again after the next start", name)

    async def finished(self, within: float = 10.0) -> None:
        """After :meth:`shutdown`: let the runs under way end (cancelled after ``within``
        seconds), so none is left holding a database connection when the database closes."""
        running = [t for t in self._running if not t.done()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=within)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=within)

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def rebuild(self) -> None:
        """Make the jobs match the campaigns in the database (after a load, pause or resume)."""
        async with self.planner.db.session() as s:
            campaigns = (await s.scalars(select(m.Campaign).where(m.Campaign.active))).all()
        wanted = set()
        for campaign in campaigns:
            zones = await self.planner.zones(campaign)
            if not zones:
                continue
            job_id = f"campaign:{campaign.id}"
            wanted.add(job_id)
            self._aps.add_job(
                self._fire,
                self._trigger(campaign.schedule, zones),
                args=[campaign.id],
                id=job_id,
                replace_existing=True,
                name=campaign.key,
            )
        for job in self._aps.get_jobs():
            if job.id.startswith("campaign:") and job.id not in wanted:
                job.remove()

    @staticmethod
    def _trigger(schedule: str, zones: set[str]) -> BaseTrigger:
        spec = parse_cron(schedule)
        triggers = [spec.trigger(ZoneInfo(zone)) for zone in sorted(zones)]
        return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)

    async def _fire(self, campaign_id: int) -> None:
        self._track()
        try:
            await self._fire_once(campaign_id)
        except asyncio.CancelledError:  # its transaction rolled back; catch-up runs it again
            log.info("campaign %s: its run stopped with the bot; caught up at the next start",
                     campaign_id)  # fmt: skip

    async def _fire_once(self, campaign_id: int) -> None:
        try:
            async with self.planner.db.session() as s:
                campaign = await s.get(m.Campaign, campaign_id)
            if campaign is None or not campaign.active:
                return
            created = 0
            for zone in sorted(await self.planner.zones(campaign)):
                created += await self.planner.advance(campaign, zone, self.planner.clock.now())
            if created:
                self.planner.on_work()
        except Exception as exc:
            if is_outage(exc):  # said once by the outage; the next sweep retries the run
                self.planner.db.outage.noticed(exc)
                return
            log.exception(
                "campaign %s: the scheduled run failed; the next sweep retries it", campaign_id
            )

    async def _sweep(self) -> None:
        """Reminders, and a safety net for any run a job did not handle."""
        self._track()
        try:
            await self.planner.tick()
            await self.rebuild()  # a campaign paused or resumed by another worker
        except asyncio.CancelledError:  # the bot is stopping; the next start sweeps again
            log.info("the scheduler's sweep stopped with the bot")
        except Exception as exc:
            if is_outage(exc):
                self.planner.db.outage.noticed(exc)
                return
            log.exception("the scheduler's sweep failed; it runs again shortly")
