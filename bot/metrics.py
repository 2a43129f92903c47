"""What the bot counts, for Prometheus: one ``Metrics`` per Runtime, on a registry of its own.

    metrics = Metrics()                          # the Runtime owns one (``runtime.metrics``)
    metrics.sent("slack", 0.21)                  # a send that worked, and how long it took
    metrics.rate_limited("slack", 30.0)          # the platform answered 429: wait 30 s
    metrics.paced("slack", 0.4)                  # our own pacing held a send back 0.4 s
    metrics.leader(True)                         # this process runs the scheduler
    metrics.lease("slack:T0123", True)           # this process holds that lease
    await metrics.refresh(db, clock.now())       # the gauges read from the database

What the database holds (deliveries by state, the age of the oldest due delivery, check-ins
stored) is read when Prometheus scrapes, at most every ``refresh_every`` seconds, so it is true
whichever worker sent what. There is no module-level registry: tests and several runtimes in one
process never share counters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from bot.domain.values import DeliveryStatus
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of :meth:`Metrics.exposition` (Prometheus' text format)."""
SEND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    """The bot's metrics on ``registry`` (a new one unless given)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        refresh_every: float = 5.0,
        query_timeout: float = 5.0,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.refresh_every = refresh_every
        self.query_timeout = query_timeout
        self._refreshed_at: float | None = None
        self._up = False
        self._refreshing = asyncio.Lock()
        r = self.registry
        self.deliveries = Gauge(
            "alliance_bot_deliveries",
            "Deliveries in the outbox by state (the whole database, whichever worker sent them).",
            ["state"],
            registry=r,
        )
        self.oldest_due_age = Gauge(
            "alliance_bot_oldest_due_delivery_age_seconds",
            "How long the oldest pending delivery has been due (0 when none is).",
            registry=r,
        )
        self.checkins = Gauge(
            "alliance_bot_checkins", "Check-ins stored (the whole database).", registry=r
        )
        self.database_up = Gauge(
            "alliance_bot_database_up",
            "1 when the last read of the gauges above worked; 0 keeps their last values.",
            registry=r,
        )
        self.send_seconds = Histogram(
            "alliance_bot_send_seconds",
            "How long a send to the platform took, from the call to its answer.",
            ["platform"],
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.send_failures = Counter(
            "alliance_bot_send_failures",
            "Sends that failed (each try; the outbox tries again or gives up).",
            ["platform"],
            registry=r,
        )
        self.rate_limited_total = Counter(
            "alliance_bot_rate_limited",
            "Times the platform answered 429 (too many requests).",
            ["platform"],
            registry=r,
        )
        self.rate_limit_wait = Counter(
            "alliance_bot_rate_limit_wait_seconds",
            "Seconds sends were held back: cause=429 as the platform asked, cause=pacing by the "
            "bot's own pacing.",
            ["platform", "cause"],
            registry=r,
        )
        self.is_leader = Gauge(
            "alliance_bot_leader",
            "1 while this process is the scheduler's leader (one process of all the workers).",
            registry=r,
        )
        self.lease_held = Gauge(
            "alliance_bot_lease_held",
            "1 for each lease this process holds (a Slack workspace's pacing, Matrix sync, ...).",
            ["lease"],
            registry=r,
        )
        self.adapter_connected = Gauge(
            "alliance_bot_adapter_connected",
            "1 when the platform's adapter is connected, as /readyz reports it.",
            ["platform"],
            registry=r,
        )
        for state in DeliveryStatus:
            self.deliveries.labels(state.value)

    # --- what other parts of the bot report ----------------------------------------------------

    def know_platforms(self, platforms: Iterable[str]) -> None:
        """Export zeros for these platforms before anything happened (a flat line, not none)."""
        for platform in platforms:
            self.send_seconds.labels(platform)
            self.send_failures.labels(platform)
            self.rate_limited_total.labels(platform)
            for cause in ("429", "pacing"):
                self.rate_limit_wait.labels(platform, cause)

    def sent(self, platform: str, seconds: float) -> None:
        """A send to ``platform`` worked; it took ``seconds``."""
        self.send_seconds.labels(platform).observe(max(seconds, 0.0))

    def send_failed(self, platform: str) -> None:
        self.send_failures.labels(platform).inc()

    def rate_limited(self, platform: str, retry_after: float) -> None:
        """``platform`` answered 429 and asked to wait ``retry_after`` seconds."""
        self.rate_limited_total.labels(platform).inc()
        self.rate_limit_wait.labels(platform, "429").inc(max(retry_after, 0.0))

    def paced(self, platform: str, seconds: float) -> None:
        """The bot's own pacing held a call to ``platform`` back for ``seconds``."""
        if seconds > 0:
            self.rate_limit_wait.labels(platform, "pacing").inc(seconds)

    def leader(self, leading: bool) -> None:
        self.is_leader.set(1 if leading else 0)

    def lease(self, name: str, held: bool) -> None:
        """This process took (``held``) or lost the lease ``name``."""
        self.lease_held.labels(name).set(1 if held else 0)

    def connected(self, platform: str, up: bool) -> None:
        self.adapter_connected.labels(platform).set(1 if up else 0)

    # --- what the database says, read at scrape time ------------------------------------------

    async def refresh(self, db: Database, now: datetime, *, force: bool = False) -> bool:
        """Read the database's gauges (unless read less than ``refresh_every`` s ago). False
        when the database did not answer: the gauges keep their last values and
        ``alliance_bot_database_up`` says 0."""
        async with self._refreshing:
            clock = time.monotonic()
            fresh = self._refreshed_at is not None
            if fresh and not force and clock - (self._refreshed_at or 0) < self.refresh_every:
                return self._up
            try:
                states, oldest, checkins = await asyncio.wait_for(
                    self._read(db, now), self.query_timeout
                )
            except Exception as exc:
                log.debug("metrics: the database did not answer (%s)", type(exc).__name__)
                self.database_up.set(0)
                self._refreshed_at, self._up = clock, False
                return False
            for known in DeliveryStatus:
                self.deliveries.labels(known.value).set(states.pop(known.value, 0))
            for state, count in states.items():  # a state this version does not know
                self.deliveries.labels(state).set(count)
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            self.oldest_due_age.set(max(age, 0.0))
            self.checkins.set(checkins)
            self.database_up.set(1)
            self._refreshed_at, self._up = clock, True
            return True

    async def _read(
        self, db: Database, now: datetime
    ) -> tuple[dict[str, int], datetime | None, int]:
        async with db.session() as s:
            rows = await s.execute(
                select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)
            )
            states = {str(status): int(count) for status, count in rows.all()}
            oldest = await s.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.status == DeliveryStatus.PENDING.value,
                    Delivery.next_attempt_at <= now,
                )
            )
            checkins = int(await s.scalar(select(func.count(CheckIn.id))) or 0)
        return states, oldest, checkins

    def exposition(self) -> bytes:
        """Everything, in Prometheus' text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
