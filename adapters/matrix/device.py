"""One worker per Matrix device.

A device's room keys reach it once: two processes syncing as one device would each miss
keys the other took, and could no longer read encrypted rooms. Workers that log in with the
password keep a device each; two given the same access token (or the same crypto store) would
share one. So a worker claims its device with a lease before it syncs as it; a worker that
finds the device taken says why, and waits (it takes the device if the other one dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
from pathlib import Path

from bot.edge import Core
from bot.storage.locks import Lease

log = logging.getLogger(__name__)


def stored_device(store_path: str, user: str, recorded: str | None) -> str | None:
    """The device whose crypto store is in this worker's store path: each worker keeps a
    device of its own. Several: the one recorded by an earlier version, else the latest used."""
    prefix = f"{user}_"
    stores = sorted(
        Path(store_path).glob(glob.escape(prefix) + "*.db"), key=lambda path: path.stat().st_mtime
    )
    devices = [path.name[len(prefix) : -len(".db")] for path in stores]
    if recorded in devices:
        return recorded
    return devices[-1] if devices else None


class DeviceTaken(Exception):
    """Another live worker syncs as this device."""


async def _nothing() -> None:
    return None


class DeviceClaim:
    def __init__(self, core: Core | None, user: str, stop: asyncio.Event) -> None:
        self.core = core
        self.user = user
        self.stop = stop
        self.lease: Lease | None = None
        self._task: asyncio.Task[None] | None = None

    async def claim(self, device: str) -> None:
        """Hold ``device`` for this worker, or raise DeviceTaken saying how to fix it."""
        if not device or self.core is None:
            return
        name = f"matrix-device:{self.user}:{device}"
        if self.lease is None or self.lease.name != name:
            await self.release()
            self.lease = self.core.lease(name)
            if not self.lease.shared:  # SQLite: one process, the device is its own
                return
            self._task = asyncio.create_task(
                self.lease.run(_nothing, self._lost, self.stop), name="matrix:device"
            )
        if not self.lease.shared:
            return
        await self.lease.tried.wait()
        if not self.lease.held:
            raise DeviceTaken(
                f"another worker already uses Matrix device {device} of {self.user}; each "
                "worker needs a device of its own: give the workers "
                "ALLIANCE_BOT_MATRIX__PASSWORD (each keeps its own device), or each its own "
                "access token"
            )

    async def _lost(self) -> None:
        if not self.stop.is_set():
            log.warning("Matrix: the claim on this worker's device was lost; claiming it again")

    async def release(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
