"""Who may do what when several processes share one database.

- **PostgreSQL**: any number of workers. Exactly one is the *leader* (it runs the scheduler):
  the holder of a session advisory lock on a connection of its own. When the leader dies its
  connection closes, PostgreSQL drops the lock, and another worker takes it on its next try.
  Start-up work that must not run twice at once (migrations, loading the alliance file) runs
  under a second advisory lock.
- Other work one process at a time does (an adapter's sync of the bot's account, say) takes a
  named :class:`Lease`, the same lock keyed by a hash of its name; leadership is the lease
  ``leader``.
- **SQLite**: one process. A second ``run`` on the same file is refused with one sentence (an
  exclusive lock on a file beside the database, dropped by the kernel when the process dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
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


Hook = Callable[[], Awaitable[None]]


def lease_key(name: str) -> int:
    """The advisory-lock key of the lease ``name``: a stable signed 64-bit hash."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"alliance-lease").digest()
    return int.from_bytes(digest, "big", signed=True)


class Lease:
    """Exactly one process at a time holds the lease ``name``.

    PostgreSQL: the holder keeps a session advisory lock (keyed by a hash of ``name``) on a
    connection of its own, and checks every ``try_every`` seconds that the connection lives;
    the others try to take the lock as often. If the holder dies or its connection breaks,
    PostgreSQL drops the lock: the holder is told (``lost``) and stops, and another process
    takes the lease on its next try (``gained``). SQLite: one process, which holds it.
    """

    def __init__(
        self,
        db: Database,
        name: str,
        *,
        key: int | None = None,
        try_every: float = TRY_EVERY,
        on_change: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.db = db
        self.name = name
        self.on_change = on_change
        """Told ``(name, held)`` whenever this process takes or loses it (the metrics)."""
        self.key = lease_key(name) if key is None else key
        self.try_every = try_every
        self.held = False
        self.changed = asyncio.Event()
        """Set whenever ``held`` changes (tests and metrics wait on it)."""
        self.tried = asyncio.Event()
        """Set once the first try has decided (held or not): callers may wait for it."""

    @property
    def shared(self) -> bool:
        """True when several processes may compete for it (PostgreSQL)."""
        return not self.db.is_sqlite

    async def run(self, gained: Hook, lost: Hook, stop: asyncio.Event) -> None:
        """Hold the lease when possible until ``stop``: ``gained`` on taking it, ``lost`` on
        losing it (its connection broke) and at the end."""
        try:
            if not self.shared:
                await self._take(gained)
                await stop.wait()
                return
            while not stop.is_set():
                try:
                    await self._try(gained, stop)
                except Exception as exc:  # the lock's connection broke: no longer held
                    if not is_outage(exc):
                        log.warning("%s lease check failed: %s", self.name, exc)
                self.tried.set()
                if self.held:
                    await self._drop(lost)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.try_every)
        finally:
            self.tried.set()
            if self.held:
                await self._drop(lost)

    async def _try(self, gained: Hook, stop: asyncio.Event) -> None:
        async with self.db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            if not got:
                return
            await self._take(gained)
            while not stop.is_set():  # hold the connection; check that it lives
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.try_every)
                await connection.execute(text("SELECT 1"))
            with contextlib.suppress(Exception):
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})

    async def _take(self, gained: Hook) -> None:
        self.held = True
        self.changed.set()
        self.tried.set()
        self.announce(True)
        if self.on_change is not None:
            self.on_change(self.name, True)
        await gained()

    async def _drop(self, lost: Hook) -> None:
        self.held = False
        self.changed.set()
        self.announce(False)
        if self.on_change is not None:
            self.on_change(self.name, False)
        with contextlib.suppress(Exception):
            await lost()

    def announce(self, held: bool) -> None:
        """A log line when the lease changes hands (subclasses; callers may log themselves)."""


class Leadership(Lease):
    """Exactly one process at a time leads (runs the scheduler): the lease ``leader``."""

    def __init__(self, db: Database, *, try_every: float = TRY_EVERY) -> None:
        super().__init__(db, "leader", key=LEADER_KEY, try_every=try_every)

    @property
    def leading(self) -> bool:
        return self.held

    def announce(self, held: bool) -> None:
        if self.shared:
            log.info(
                "this worker leads: it runs the scheduler"
                if held
                else "this worker no longer leads"
            )
