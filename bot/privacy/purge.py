"""The retention purge: once at start, then daily, what is older than the alliance's retention
goes, and the bot's copies of what it sent expire.

What goes, when ``retention`` is set: check-ins answered before its cutoff, with their earlier
versions (and so their stars and shares). Whatever the retention: the outbox's sent or given-up
replies (acknowledgements quoting answers, requested digests, exports) with the files they
carried, and the files ports saved on disk, once older than ``copies_keep``; handled-event ids
after :data:`EVENTS_KEEP`. A shorter retention shortens both. So a copy made from an answer
(an export) outlives that answer by ``copies_keep`` at most.

Each chunk of :data:`CHUNK` rows is its own short transaction, so answers arriving meanwhile
never wait long for SQLite's write lock. One log line gives the counts, never a word of text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import audit
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.ports import Clock
from bot.privacy.retention import Retention, parse_retention
from bot.privacy.traces import expire_files
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.outage import is_outage
from bot.storage.records import CheckIn, CheckInRevision, Delivery, OutboxFile, ProcessedEvent
from bot.webhooks import events as webhooks

log = logging.getLogger(__name__)
CHUNK = 500
COPIES_KEEP = timedelta(days=30)
EVENTS_KEEP = timedelta(days=90)
"""Handled-event ids guard against a platform delivering an event twice (minutes or hours
apart); after this they only grow the table."""
SENT_COPIES = (DeliveryKind.REPLY.value, DeliveryKind.NOTICE.value, DeliveryKind.WEBHOOK.value)
"""Outbox rows kept only as a record once done: expired with the copies."""
OPEN = (
    DeliveryStatus.QUEUED.value,
    DeliveryStatus.PENDING.value,
    DeliveryStatus.SENDING.value,
    DeliveryStatus.HELD.value,
)


@runtime_checkable
class KeepsFiles(Protocol):
    """A port that saves the files it posts on this machine (the console does)."""

    files_dir: Path


def folders_of(ports: Iterable[object]) -> list[Path]:
    """Where ``ports`` keep files: expired there, and erased with their author's words."""
    return [port.files_dir for port in ports if isinstance(port, KeepsFiles)]


@dataclass
class PurgeCounts:
    checkins: int = 0
    revisions: int = 0
    replies: int = 0
    events: int = 0
    outbox_files: int = 0
    files: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def line(self, retention: Retention | None) -> str:
        kept = f"retention {retention}" if retention else "no retention set"
        return (
            f"retention purge ({kept}): removed {self.checkins} check-ins, {self.revisions} "
            f"earlier versions, {self.replies} sent replies with {self.outbox_files} files, "
            f"{self.files} files on disk and {self.events} handled-event ids"
        )


class Purger:
    """Purges one database (and the folders where ports keep files) by ``clock``'s time."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        folders: Sequence[Path] = (),
        copies_keep: timedelta = COPIES_KEEP,
        events_keep: timedelta = EVENTS_KEEP,
        chunk: int = CHUNK,
    ) -> None:
        self.db = db
        self.clock = clock
        self.folders = list(folders)
        """Where ports save the files they post (the console's ``files/``)."""
        self.copies_keep = copies_keep
        """How long the bot keeps its copies of what it sent: replies, and their files."""
        self.events_keep = events_keep
        self.chunk = chunk
        self.last: PurgeCounts | None = None

    async def retention(self) -> Retention | None:
        async with self.db.session() as s:
            value = await s.scalar(select(m.Alliance.retention).where(m.Alliance.id == 1))
        return parse_retention(value) if value else None

    async def scheduled(self, stop: asyncio.Event | None = None) -> None:
        """The scheduler's daily run: a failure is logged (an outage said once), and the next
        day's run tries again."""
        try:
            await self.purge(stop)
        except Exception as exc:
            if is_outage(exc):
                self.db.outage.noticed(exc)
            else:
                log.exception("the retention purge failed; it runs again tomorrow")

    async def purge(self, stop: asyncio.Event | None = None) -> PurgeCounts:
        now = self.clock.now()
        retention = await self.retention()
        cutoff = retention.cutoff(now) if retention else None
        copies_cutoff = max(now - self.copies_keep, cutoff or now - self.copies_keep)
        events_cutoff = max(now - self.events_keep, cutoff or now - self.events_keep)
        counts = PurgeCounts()
        chunks = _Chunks(self.db, self.chunk, stop)
        if cutoff is not None:
            counts.checkins = await chunks.run(
                select(CheckIn.id).where(CheckIn.answered_at < cutoff).order_by(CheckIn.id),
                lambda s, ids: _checkins(s, ids, counts, now),
            )
        counts.replies = await chunks.run(
            select(Delivery.id)
            .where(
                Delivery.kind.in_(SENT_COPIES),
                Delivery.status.not_in(OPEN),
                Delivery.scheduled_at < copies_cutoff,
            )
            .order_by(Delivery.id),
            lambda s, ids: _replies(s, ids, counts),
        )
        counts.events = await chunks.run(
            select(ProcessedEvent.id)
            .where(ProcessedEvent.processed_at < events_cutoff)
            .order_by(ProcessedEvent.id),
            lambda s, ids: _by_id(s, ProcessedEvent, ids),
        )
        if stop is not None and stop.is_set():  # the bot is stopping: the rest tomorrow
            self.last = counts
            return counts
        counts.files = await self._expire_files(copies_cutoff)
        if counts.total:
            async with self.db.session() as s:
                await audit.record(
                    s,
                    at=now,
                    actor_member_id=None,
                    actor="retention",
                    action="purge",
                    object_kind="retention",
                    object_id=str(retention) if retention else None,
                    detail={k: v for k, v in asdict(counts).items() if v},
                )
            await compact(self.db.engine)
        log.info("%s", counts.line(retention))
        self.last = counts
        return counts

    async def _expire_files(self, before: datetime) -> int:
        if not self.folders:
            return 0
        try:
            return await asyncio.to_thread(expire_files, self.folders, before.timestamp())
        except OSError as exc:  # a folder we cannot read is no database outage
            log.warning("expired files could not be removed: %s", exc)
            return 0


Remove = Callable[[AsyncSession, list[int]], Awaitable[int]]


class _Chunks:
    def __init__(self, db: Database, size: int, stop: asyncio.Event | None) -> None:
        self.db = db
        self.size = size
        self.stop = stop

    async def run(self, pick: Select[Any], remove: Remove) -> int:
        """Remove the rows ``pick`` selects (their ids), ``size`` at a time, one short
        transaction each; between two, other work gets the database."""
        total = 0
        while self.stop is None or not self.stop.is_set():
            async with self.db.session() as s:
                ids = list((await s.scalars(pick.limit(self.size))).all())
                if ids:
                    total += await remove(s, ids)
            if len(ids) < self.size:
                break
            await asyncio.sleep(0)
        return total


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _by_id(s: AsyncSession, model: Any, ids: list[int]) -> int:
    return _count(await s.execute(delete(model).where(model.id.in_(ids))))


async def _checkins(s: AsyncSession, ids: list[int], counts: PurgeCounts, now: datetime) -> int:
    await webhooks.checkins_deleted(s, now, ids, "retention")
    counts.revisions += _count(
        await s.execute(delete(CheckInRevision).where(CheckInRevision.checkin_id.in_(ids)))
    )
    return await _by_id(s, CheckIn, ids)


async def _replies(s: AsyncSession, ids: list[int], counts: PurgeCounts) -> int:
    counts.outbox_files += _count(
        await s.execute(delete(OutboxFile).where(OutboxFile.delivery_id.in_(ids)))
    )
    return await _by_id(s, Delivery, ids)


async def compact(engine: AsyncEngine) -> None:
    """On SQLite, move what deletions zeroed (``secure_delete``) into the database file and
    empty the write-ahead log, so deleted text survives in neither file. PostgreSQL's own
    vacuum reclaims its dead rows."""
    if engine.dialect.name != "sqlite":
        return
    for _ in range(20):
        async with engine.connect() as connection:
            busy = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
        if busy is None or not busy[0]:
            return
        await asyncio.sleep(0.05)  # a reader still looks at older pages
    log.info("the write-ahead log could not be emptied now; SQLite does it at its next checkpoint")
