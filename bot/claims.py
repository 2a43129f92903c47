"""Outbox claims outside a send: kept alive while sends run, taken back from dead workers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.domain.values import DeliveryStatus
from bot.storage.database import Database
from bot.storage.records import Delivery
from bot.workers import worker_gone

log = logging.getLogger(__name__)


async def renew(db: Database, worker: str, until: datetime) -> None:
    """``worker``'s claims hold until ``until``."""
    async with db.session() as s:
        await s.execute(
            update(Delivery)
            .where(Delivery.claimed_by == worker, Delivery.status == DeliveryStatus.SENDING.value)
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )


async def release(db: Database, now: datetime) -> int:
    """Claims left by a process that died are taken back at once (their sends' outcomes are
    unknown). With SQLite that is every claim (one process per file); with PostgreSQL, the
    claims of workers on this host whose process is gone. Other workers' claims are taken
    back when their lease runs out (a live worker renews its own)."""
    dead: list[str] | None = None
    if not db.is_sqlite:
        async with db.session() as s:
            holders = (
                await s.scalars(
                    select(Delivery.claimed_by)
                    .where(Delivery.status == DeliveryStatus.SENDING.value)
                    .distinct()
                )
            ).all()
        dead = [h for h in holders if h and worker_gone(h)]
        if not dead:
            return 0
    where = [Delivery.status == DeliveryStatus.SENDING.value]
    if dead is not None:
        where.append(Delivery.claimed_by.in_(dead))
    async with db.session() as s:
        result = await s.execute(
            update(Delivery)
            .where(*where)
            .values(claimed_until=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("%d sends were under way when the bot stopped; they are checked and resent", count)
    return count
