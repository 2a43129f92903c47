"""A database that went away: noticed once, waited for, and announced when it is back.

Whoever meets a connection failure calls :meth:`Outage.noticed` and then waits on
:meth:`Outage.back` instead of logging a traceback and trying again at once. One probe asks the
database, with backoff, until it answers. The log gets one line when the outage starts and one
when it ends, however many parts of the bot were waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

PROBE_FIRST = 0.5
PROBE_MAX = 10.0
_NOT_OUTAGES = ("database is locked", "no such table", "syntax error")


class StorageAway(Exception):  # noqa: N818 (a state, not a programming error)
    """The database cannot be reached right now; what was being done is to be tried again."""


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the database is unreachable, not that a
    statement was wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageAway | DisconnectionError | ConnectionError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OperationalError | InterfaceError):
            text = str(current).lower()
            return not any(marker in text for marker in _NOT_OUTAGES)
        if isinstance(current, OSError) and not isinstance(current, FileNotFoundError):
            return True
        if type(current).__module__.startswith("asyncpg") and (
            "Connection" in type(current).__name__
            or type(current).__name__ in ("CannotConnectNowError", "AdminShutdownError")
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


class Outage:
    """The database's reachability, shared by everything that uses one ``Database``."""

    def __init__(self, probe: Callable[[], Awaitable[None]]) -> None:
        self._probe = probe
        self._back = asyncio.Event()
        self._back.set()
        self._since: float | None = None
        self._prober: asyncio.Task[None] | None = None
        self.outages = 0

    @property
    def down(self) -> bool:
        return not self._back.is_set()

    def noticed(self, exc: BaseException) -> None:
        """Someone met ``exc``, an outage: say so once, and start asking when it is back."""
        if self.down:
            return
        self.outages += 1
        self._since = time.monotonic()
        self._back.clear()
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        log.warning(
            "The database cannot be reached (%s). Everything waits for it; nothing accepted "
            "is lost.",
            reason,
        )
        self._prober = asyncio.get_running_loop().create_task(self._wait_until_back())

    async def back(self) -> None:
        """Return once the database answers again (at once when it is not away)."""
        await self._back.wait()

    async def _wait_until_back(self) -> None:
        delay = PROBE_FIRST
        while True:
            await asyncio.sleep(delay)
            try:
                await self._probe()
            except Exception as exc:
                if not is_outage(exc):
                    log.warning("the database answered the probe with an error: %s", exc)
                delay = min(delay * 2, PROBE_MAX)
                continue
            break
        away = time.monotonic() - (self._since or time.monotonic())
        log.warning("The database is back after %.0f s.", away)
        self._back.set()

    async def close(self) -> None:
        if self._prober is not None and not self._prober.done():
            self._prober.cancel()
        self._back.set()  # nobody waits for ever on a database being closed
