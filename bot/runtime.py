"""The core's lifecycle: database, planner, dispatcher, service and scheduler, given the ports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.alliance.apply import LoadReport, load_alliance, unchanged
from bot.alliance.schema import PlatformIds
from bot.alliance.validate import validate_file
from bot.batcher import Batcher
from bot.clock import ManualClock, fast_forward
from bot.delivery import Dispatcher, RetryPolicy
from bot.digest.chartcache import ChartCache
from bot.directory import Directory
from bot.domain.errors import UserError
from bot.domain.values import DeliveryStatus, Lane
from bot.events import InboundEvent
from bot.ingest import answer_ref
from bot.insight.sweeps import sweeps
from bot.logcontext import log_context
from bot.metrics import Metrics
from bot.ports import (
    ChatPort,
    Clock,
    Destination,
    DestinationKind,
    Reply,
    ReplyTo,
    Sent,
    SharedPace,
)
from bot.privacy.purge import Purger, folders_of
from bot.reach import Installations
from bot.render import Renderer
from bot.replies import reply_prefix
from bot.scheduling.planner import Planner
from bot.scheduling.scheduler import Scheduler
from bot.service import Answered, Service
from bot.storage.database import Database
from bot.storage.locks import Leadership, Lease, SingleProcess, exclusive
from bot.storage.outage import StorageAway
from bot.storage.pace import StorePace
from bot.storage.records import Delivery
from bot.tasks import TaskGroup
from bot.webhooks.courier import Courier, Poster
from bot.yamlsource import MAX_FILE_BYTES

log = logging.getLogger(__name__)


class Runtime:
    """Start it, hand it events, stop it; ``real_time=False`` lets tests move a ManualClock.

    Adapters see it only as ``bot.edge.Core`` (the console as ``bot.edge.Harness``, the health
    endpoints as ``bot.edge.Observed``)."""

    def __init__(
        self,
        database_url: str,
        clock: Clock,
        ports: Mapping[str, ChatPort],
        *,
        preference: Sequence[str] | None = None,
        alliance_file: Path | None = None,
        real_time: bool = True,
        retry: RetryPolicy | None = None,
        send_concurrency: int = 32,
        background_dispatch: bool = True,
        patience: float = 30.0,
        stop_timeout: float = 20.0,
        metrics: Metrics | None = None,
        charts_dir: Path | None = None,
        webhooks: Poster | None = None,
    ) -> None:
        self.db = Database(database_url)
        self.metrics = metrics if metrics is not None else Metrics()
        """What Prometheus sees (``/metrics``); a registry of this runtime's own."""
        self.clock = clock
        self.ports = dict(ports)
        self.alliance_file = alliance_file
        self.alliance_max_bytes = MAX_FILE_BYTES
        """The largest alliance file ``load`` reads (the setting ``alliance_max_mb``)."""
        self.platforms: Sequence[PlatformIds] | None = None
        """The platforms' id formats ``load`` checks the file against (the registry's)."""
        self.real_time = real_time
        self.tasks = TaskGroup("runtime")
        """Short background work (marking prompts answered); ``tasks.wait()`` waits for it."""
        self.loops = TaskGroup("loops")
        """The loops that run until stop: dispatcher, answer batcher, fast-forward."""
        self._stop = asyncio.Event()
        self._dispatch_stop = asyncio.Event()
        self._dispatch_task: asyncio.Task[None] | None = None
        self.charts = ChartCache(charts_dir)
        """Digest charts drawn once per period and measures (kept in ``charts_dir`` if given)."""
        self.dispatcher = Dispatcher(
            self.db,
            clock,
            self.ports,
            Renderer(self.charts),
            preference=preference or list(self.ports),
            retry=retry,
            concurrency=send_concurrency,
            metrics=self.metrics,
            webhooks=Courier(self.db, clock, webhooks, retry or RetryPolicy(), environ=os.environ),
        )
        self.planner = Planner(self.db, clock, list(self.ports), on_work=self.dispatcher.wake)
        self.planner.sweeps += sweeps()
        self.service = Service(self.db, clock, self.planner, on_answered=self._answered)
        self.service.charts = self.charts
        self.scheduler = Scheduler(self.planner)
        self.purger = Purger(self.db, clock, folders=folders_of(self.ports.values()))
        """Retention and file expiry: daily on the leader; tests call ``purger.purge()``."""
        self.scheduler.every_day(lambda: self.purger.scheduled(self._stop), "retention")
        self.service.files_dirs = tuple(self.purger.folders)
        self.leadership = Leadership(self.db)
        self.shared_pace: SharedPace | None = None if self.db.is_sqlite else StorePace(self.db)
        """Platform limits shared by every worker on the database (None: one process)."""
        self.single_process = SingleProcess(self.db)
        self.batcher = Batcher(
            lambda items, patient: self.service.handle_answers(items, patient=patient)
        )
        self.patience = patience
        """How long an answer to a message we cannot place waits for prompts being sent."""
        self.stop_timeout = stop_timeout
        """At stop, how long to go on sending what is due; the rest stays in the outbox."""
        self.background_dispatch = background_dispatch
        """False: nothing is sent until ``settle()``/``dispatcher.drain()`` (benchmarks)."""
        self._batching = False
        self.directory = Directory(self.db, clock, self.planner)
        self.started = False
        self.load_report: LoadReport | None = None

    async def __aenter__(self) -> Runtime:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, *, sending: bool = True) -> None:
        """Migrate, load, catch up; then send, unless ``sending`` is False: the composition
        root calls ``start_sending()`` once the adapters are ready to send."""
        if self.real_time:
            self.single_process.acquire()  # SQLite: a second bot on the file is refused
        async with exclusive(self.db):  # PostgreSQL: one worker at a time migrates
            await self.db.upgrade()
            await self.dispatcher.release_claims()
        if self.alliance_file is not None:
            await self.load(self.alliance_file, if_changed=True)
        self.loops.spawn(self.batcher.run(self._stop), "answers")
        self._batching = True
        if self.real_time:  # the leader catches up and runs the scheduler
            self.loops.spawn(
                self.leadership.run(self._lead, self._follow, self._stop), "leadership"
            )
        else:
            await self.planner.tick()
        self.started = True
        if sending:
            self.start_sending()
        log.info(
            "alliance-bot started on %s with %s",
            self.db.describe(),
            ", ".join(self.ports) or "no platform",
        )

    async def _lead(self) -> None:
        if self.metrics is not None:
            self.metrics.leader(True)
        await self.planner.tick()  # the catch-up rules apply to whatever was missed
        self.scheduler.start()
        await self.scheduler.rebuild()

    async def _follow(self) -> None:
        if self.metrics is not None:
            self.metrics.leader(False)
        self.scheduler.shutdown()

    def start_sending(self) -> None:
        if self.background_dispatch and self._dispatch_task is None:
            self._dispatch_task = self.loops.spawn(
                self.dispatcher.run(self._dispatch_stop), "dispatcher"
            )

    async def load(
        self, path: Path, *, actor: str = "startup", if_changed: bool = False
    ) -> LoadReport:
        """Validate and load ``path``. ``if_changed`` (at start): a file whose sha256 is the
        one loaded last is not read again."""
        if if_changed and (digest := await unchanged(self.db, path)) is not None:
            log.info(
                "The alliance file %s is unchanged since it was loaded (sha256 %s…); "
                "not loading it again",
                path,
                digest[:12],
            )
            self.load_report = LoadReport()
            return self.load_report
        alliance, problems = await asyncio.to_thread(
            validate_file, path, max_bytes=self.alliance_max_bytes, platforms=self.platforms
        )
        if alliance is None:
            raise UserError(f"{path} has {len(problems)} problem(s); first: {problems[0]}")
        source = await asyncio.to_thread(path.read_bytes)
        async with exclusive(self.db):  # two workers starting together load it once
            self.load_report = await load_alliance(
                self.db, alliance, source, actor=actor, at=self.clock.now()
            )
        if self.started and self.real_time and self.leadership.leading:
            await self.scheduler.rebuild()
        return self.load_report

    async def stop(self) -> None:
        """Stop taking new work, send what is due for a while (``stop_timeout``), then close.
        Adapters stop receiving before this and close their connections after it."""
        self.scheduler.shutdown()
        self._stop.set()
        self._dispatch_stop.set()
        self._batching = False
        self.dispatcher.wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_timeout
        try:
            await asyncio.wait_for(self.loops.wait(), timeout=self.stop_timeout)
            if self.started:
                await asyncio.wait_for(
                    self.dispatcher.drain(deadline=deadline), timeout=self.stop_timeout + 30
                )
            await asyncio.wait_for(self.tasks.wait(), timeout=5)
        except TimeoutError:
            log.warning("sending did not finish in time; what is left stays in the outbox")
            await self.loops.cancel()
            await self.tasks.cancel()
            await self.dispatcher.inflight.cancel()
        await self.scheduler.finished()  # no scheduled run left holding a connection
        if self.started:
            with contextlib.suppress(Exception):
                left = await self.outbox_due()
                if left:
                    log.info("%d deliveries stay in the outbox for the next start", left)
        await self.dispatcher.close()
        await self.db.dispose()
        self.single_process.release()
        self.started = False

    async def outbox_due(self) -> int:
        """How many deliveries are due or being sent."""
        async with self.db.session() as s:
            return int(
                await s.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.status.in_(
                            [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
                        ),
                        Delivery.next_attempt_at <= self.clock.now(),
                    )
                )
                or 0
            )

    async def handle(self, event: InboundEvent, to: ReplyTo | None = None) -> list[Reply]:
        """Store what ``event`` means with its replies; the outbox sends them (``to`` says
        where, when the adapter knows better than the event). An answer to a prompt that is
        still being sent waits for it, a while."""
        to = to or ReplyTo.of(event)
        replies: list[Reply] | None = None
        with log_context(platform=event.platform, platform_ref=event.event_id):
            log.debug("handling a %s", type(event).__name__)  # ids only, never its text
            for patient in (True, False):
                replies = await self._handle_once(event, to, patient)
                if replies is not None:
                    break
                await self.service.in_flight_settled(event, self.patience)
        self.dispatcher.wake()
        return replies or []

    async def _handle_once(
        self, event: InboundEvent, to: ReplyTo, patient: bool
    ) -> list[Reply] | None:
        """One try; while the database is away, the event waits for it (nothing is lost)."""
        while True:
            try:
                if self._batching and answer_ref(event) is not None:
                    return await self.batcher.submit((event, to), patient)
                return await self.service.handle(event, to, patient=patient)
            except StorageAway:
                await self.db.outage.back()

    async def replies_sent(self, event: InboundEvent | None = None, within: float = 30.0) -> bool:
        """Wait until the replies to ``event`` (or all replies due) have left the outbox: sent
        or given up. False if some are still there after ``within`` seconds."""
        where: list[Any] = [
            Delivery.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value])
        ]
        if event is None:
            where += [
                Delivery.lane == int(Lane.REPLIES),
                Delivery.next_attempt_at <= self.clock.now(),
            ]
        else:
            prefix = reply_prefix(event.platform, event.event_id)
            where += [Delivery.dedupe_key >= prefix, Delivery.dedupe_key < prefix[:-1] + ";"]
        journal = self.dispatcher.journal

        async def waiting() -> int:
            async with self.db.session() as s:
                return int(await s.scalar(select(func.count(Delivery.id)).where(*where)) or 0)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await waiting():
            if loop.time() >= deadline:
                return False
            self.dispatcher.wake()
            async with journal.recorded:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(journal.recorded.wait(), 0.2)
        return True

    def installations(self) -> Installations:
        """Where the bot is installed, space by space (a platform installed per workspace)."""
        return Installations(self.db, self.clock)

    def lease(self, name: str) -> Lease:
        """The lease ``name``: one worker at a time holds it (the metrics say which)."""
        return Lease(self.db, name, on_change=self.metrics.lease)

    async def database_answers(self) -> None:
        """``SELECT 1``; raises when the database does not answer."""
        async with self.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def refresh_metrics(self) -> None:
        """Read the database's gauges now (or a moment ago)."""
        await self.metrics.refresh(self.db, self.clock.now())

    def outage_noticed(self, exc: BaseException) -> None:
        """``exc`` says the database is away: say so once, and wait for it."""
        self.db.outage.noticed(exc)

    async def settle(self) -> None:
        """Handle everything due by the clock's now: runs, reminders and sends."""
        await self.planner.tick()
        await self.dispatcher.drain()
        await self.tasks_idle()

    async def advance(self, to: datetime) -> None:
        """For a ManualClock: move time to ``to`` and handle everything that fell due."""
        setter = getattr(self.clock, "set", None)
        if setter is None:
            raise TypeError("advance() needs a clock that can be set (ManualClock)")
        setter(to)
        await self.settle()

    async def pause_dispatch(self) -> None:
        """Stop sending in the background (benchmarks time ``dispatcher.drain()`` alone)."""
        self._dispatch_stop.set()
        self.dispatcher.wake()
        if self._dispatch_task is not None:
            await self._dispatch_task
            self._dispatch_task = None

    def fast_forward(self, clock: ManualClock, speed: float, step_seconds: float = 60.0) -> None:
        """Demonstrations: move ``clock`` ``speed`` times faster than real (bot.clock)."""
        ahead = fast_forward(self.advance, self._stop, clock, speed, step_seconds)
        self.loops.spawn(ahead, "fast-forward")

    async def tasks_idle(self) -> None:
        await asyncio.sleep(0)

    def _answered(self, item: Answered) -> None:
        port = self.ports.get(item.platform)
        if port is None or item.message_ref is None:
            return
        sent = Sent(item.message_ref, address=item.address)
        kind = DestinationKind.CHANNEL if item.in_channel else DestinationKind.PERSON
        destination = Destination(kind, item.address)
        self.tasks.spawn(port.mark_answered(sent, destination, item.summary), "mark-answered")
