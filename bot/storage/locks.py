"""Who may do what when several processes share one database.

- **PostgreSQL**: any number of workers. Exactly one is the *leader* (it runs the scheduler):
  the holder of a session advisory lock on a connection of its own. When the leader dies its
  connection closes, PostgreSQL drops the lock, and another worker takes it on its next try.
  Start-up work that must not run twice at once (migrations, loading the alliance file) runs
  under a second advisory lock.
- **SQLite**: one process. A second ``run`` on the same file is refused with one sentence (an
  exclusive lock on a file beside the database, dropped by the kernel when the process dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.domain.errors import UserError
from bot.storage.database import Database
from bot.storage.outage import is_outage

log = logging.getLogger(__name__)

LEADER_KEY = 0x616C6C69  # "alli": the scheduler's advisory lock
STARTUP_KEY = 0x616C6C6A  # migrations and alliance loads, one process at a time
TRY_EVERY = 5.0
"""Seconds between a follower's tries for leadership (a dead leader is replaced within this)."""


class SingleProcess:
    """SQLite serves one bot process: an exclusive lock on ``<database>.lock``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if not self.db.is_sqlite:
            return
        database = make_url(self.db.url).database
        if not database or database == ":memory:":
            return
        path = Path(database).expanduser()
        lock = path.with_name(path.name + ".lock")
        handle = open(lock, "a+")  # noqa: SIM115 (held for the life of the process)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserError(
                f"Another alliance-bot is already running on {path}. SQLite serves one process: "
                "stop the other one, or use PostgreSQL (ALLIANCE_BOT_DATABASE_URL) to run "
                "several workers."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@contextlib.asynccontextmanager
async def exclusive(db: Database, key: int = STARTUP_KEY) -> AsyncIterator[None]:
    """Run the block in one process at a time (PostgreSQL); as is on SQLite."""
    if db.is_sqlite:
        yield
        return
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


class Leadership:
    """Exactly one process at a time leads (runs the scheduler)."""

    def __init__(self, db: Database, *, try_every: float = TRY_EVERY) -> None:
        self.db = db
        self.try_every = try_every
        self.leading = False
        self.changed = asyncio.Event()
        """Set whenever ``leading`` changes (tests and metrics wait on it)."""

    async def run(
        self,
        gained: Callable[[], Awaitable[None]],
        lost: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
    ) -> None:
        """Lead when possible until ``stop``: ``gained`` on taking the lead, ``lost`` on losing
        it (the connection that held the lock broke) and at the end."""
        try:
            if self.db.is_sqlite:
                await self._lead(gained)
                await stop.wait()
                return
            while not stop.is_set():
                try:
                    await self._try_to_lead(gained, lost, stop)
                except Exception as exc:  # the lock's connection broke: no longer leading
                    if not is_outage(exc):
                        log.warning("leadership check failed: %s", exc)
                if self.leading:
                    await self._follow(lost)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.try_every)
        finally:
            if self.leading:
                await self._follow(lost)

    async def _try_to_lead(
        self,
        gained: Callable[[], Awaitable[None]],
        lost: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
    ) -> None:
        async with self.db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}
            )
            if not got:
                return
            await self._lead(gained)
            while not stop.is_set():  # hold the connection; check that it lives
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.try_every)
                await connection.execute(text("SELECT 1"))
            with contextlib.suppress(Exception):
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_KEY})

    async def _lead(self, gained: Callable[[], Awaitable[None]]) -> None:
        self.leading = True
        self.changed.set()
        if not self.db.is_sqlite:
            log.info("this worker leads: it runs the scheduler")
        await gained()

    async def _follow(self, lost: Callable[[], Awaitable[None]]) -> None:
        self.leading = False
        self.changed.set()
        if not self.db.is_sqlite:
            log.info("this worker no longer leads")
        with contextlib.suppress(Exception):
            await lost()
