"""Recording outbox outcomes the moment each send completes.

Each send hands its outcome to :meth:`Journal.record` and waits until it is durable. Outcomes
that arrive together share one transaction (a group commit), so a slow or paced send never
holds back the recording of the others, and a fast platform is not slowed to one commit per
message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import update

from bot.storage.database import Database
from bot.storage.outage import is_outage
from bot.storage.records import Delivery

log = logging.getLogger(__name__)
WRITE_TRIES = 6


class Journal:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.recorded = asyncio.Condition()
        """Notified after every group of outcomes is written."""
        self._queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, delivery_id: int, values: dict[str, Any]) -> None:
        """Write ``values`` to the row; returns once they are committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(({"id": delivery_id, **values}, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="outbox-journal")
        await future

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            error = await self._commit([change for change, _ in batch])
            for _, future in batch:
                if future.done():
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
            async with self.recorded:
                self.recorded.notify_all()

    async def _commit(self, changes: list[dict[str, Any]]) -> Exception | None:
        """One executemany per set of columns (sent, failed, postponed differ). While the
        database is away the outcomes wait for it (``bot.storage.outage``); other errors are
        tried a few times. If that fails, or the process dies meanwhile, the rows keep their
        claims, and a claim that outlives its time is taken back and sent as one whose outcome
        is unknown."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for change in changes:
            by_columns.setdefault(tuple(sorted(change)), []).append(change)
        delay = 0.2
        attempt = 0
        while attempt < WRITE_TRIES:
            try:
                async with self.db.session() as s:
                    for group in by_columns.values():
                        await s.execute(update(Delivery), group)
                return None
            except Exception as exc:
                if is_outage(exc):  # outcomes are kept until the database is back
                    self.db.outage.noticed(exc)
                    await self.db.outage.back()
                    continue
                attempt += 1
                if attempt == WRITE_TRIES:
                    log.error("could not record %d send outcomes: %r", len(changes), exc)
                    return exc
                log.warning("recording send outcomes failed (%r); trying again", exc)
                await asyncio.sleep(delay)
                delay *= 2
        return None  # pragma: no cover
