"""The core's lifecycle: database, planner, dispatcher, service and scheduler, given the ports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bot.alliance.apply import LoadReport, load_alliance
from bot.alliance.validate import validate_file
from bot.batcher import Batcher
from bot.clock import ManualClock
from bot.delivery import Dispatcher, RetryPolicy
from bot.directory import Directory
from bot.domain.errors import UserError
from bot.events import InboundEvent
from bot.ingest import answer_ref
from bot.ports import ChatPort, Clock, Destination, DestinationKind, Reply, Sent
from bot.render import Renderer
from bot.scheduling.planner import Planner
from bot.scheduling.scheduler import Scheduler
from bot.service import Answered, Service
from bot.storage.database import Database
from bot.tasks import TaskGroup

log = logging.getLogger(__name__)


class Runtime:
    """Start it, hand it events, stop it; ``real_time=False`` lets tests move a ManualClock."""

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
    ) -> None:
        self.db = Database(database_url)
        self.clock = clock
        self.ports = dict(ports)
        self.alliance_file = alliance_file
        self.real_time = real_time
        self.tasks = TaskGroup("runtime")
        """Short background work (marking prompts answered); ``tasks.wait()`` waits for it."""
        self.loops = TaskGroup("loops")
        """The loops that run until stop: dispatcher, answer batcher, fast-forward."""
        self._stop = asyncio.Event()
        self._dispatch_stop = asyncio.Event()
        self._dispatch_task: asyncio.Task[None] | None = None
        self.dispatcher = Dispatcher(
            self.db,
            clock,
            self.ports,
            Renderer(),
            preference=preference or list(self.ports),
            retry=retry,
            concurrency=send_concurrency,
        )
        self.planner = Planner(self.db, clock, list(self.ports), on_work=self.dispatcher.wake)
        self.service = Service(self.db, clock, self.planner, on_answered=self._answered)
        self.scheduler = Scheduler(self.planner)
        self.batcher = Batcher(self.service.handle_answers)
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

    async def start(self) -> None:
        await self.db.upgrade()
        if self.alliance_file is not None:
            await self.load(self.alliance_file)
        await self.planner.tick()
        if self.background_dispatch:
            self._dispatch_task = self.loops.spawn(
                self.dispatcher.run(self._dispatch_stop), "dispatcher"
            )
        self.loops.spawn(self.batcher.run(self._stop), "answers")
        self._batching = True
        if self.real_time:
            self.scheduler.start()
            await self.scheduler.rebuild()
        self.started = True
        log.info(
            "alliance-bot started on %s with %s",
            self.db.describe(),
            ", ".join(self.ports) or "no platform",
        )

    async def load(self, path: Path) -> LoadReport:
        alliance, problems = await asyncio.to_thread(validate_file, path)
        if alliance is None:
            raise UserError(f"{path} has {len(problems)} problem(s); first: {problems[0]}")
        text = await asyncio.to_thread(path.read_text, "utf-8")
        self.load_report = await load_alliance(self.db, alliance, text)
        if self.started and self.real_time:
            await self.scheduler.rebuild()
        return self.load_report

    async def stop(self) -> None:
        """Stop taking new work, send what is already due, then close everything."""
        self.scheduler.shutdown()
        self._stop.set()
        self._dispatch_stop.set()
        self._batching = False
        self.dispatcher.wake()
        try:
            await asyncio.wait_for(self.loops.wait(), timeout=30)
            await asyncio.wait_for(self.tasks.wait(), timeout=30)
            if self.started:
                await asyncio.wait_for(self.dispatcher.drain(), timeout=30)
        except TimeoutError:
            log.warning("background work did not finish within 30 s; it stays in the outbox")
            await self.loops.cancel()
            await self.tasks.cancel()
        await self.db.dispose()
        self.started = False

    async def handle(self, event: InboundEvent) -> list[Reply]:
        if self._batching and answer_ref(event) is not None:
            replies = await self.batcher.submit(event)  # answers arriving together share a batch
        else:
            replies = await self.service.handle(event)
        self.dispatcher.wake()
        return replies

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
        """Demonstrations: move ``clock`` a step at a time, ``speed`` times faster than real.

        Every step is handled in full (runs, reminders, sends) before the next, so nothing is
        late or missed however fast the clock goes.
        """

        async def loop() -> None:
            step = timedelta(seconds=step_seconds)
            while not self._stop.is_set():
                try:
                    await self.advance(clock.now() + step)
                except Exception:
                    log.exception("a fast-forward step failed; trying the next one")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=step_seconds / speed)

        self.loops.spawn(loop(), "fast-forward")

    async def tasks_idle(self) -> None:
        await asyncio.sleep(0)

    def _answered(self, item: Answered, platform: str) -> None:
        port = self.ports.get(platform)
        if port is None or item.message_ref is None:
            return
        sent = Sent(item.message_ref, address=item.address)
        kind = DestinationKind.CHANNEL if item.in_channel else DestinationKind.PERSON
        destination = Destination(kind, item.address)
        self.tasks.spawn(port.mark_answered(sent, destination, item.summary), "mark-answered")
