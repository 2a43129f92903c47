"""Charts drawn once per period and measure set: kept by a hash of what they show.

Drawing takes matplotlib most of a second, and every staff member who asks for a digest, every
scheduled digest and every worker would otherwise draw the same chart again. With a folder (the
data dir's ``charts``), a chart survives restarts and is shared by the workers of one machine;
without, the last few stay in memory. Files older than ``KEEP`` are removed as new ones come.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

VERSION = 2
"""Part of every key: raise it when a chart is drawn differently."""
KEEP = 60 * 86_400
"""Seconds a chart file is kept after it was last written."""
IN_MEMORY = 16


def chart_key(kind: str, shown: object) -> str:
    """A hash of everything the chart shows (and of nothing it does not): its kind, and its
    figures and words as JSON (so one chart is kept per language)."""
    blob = json.dumps([VERSION, kind, shown], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ChartCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._drawing: dict[str, asyncio.Future[bytes]] = {}
        self.drawn = 0
        """How many charts this cache had to draw (the rest came from memory or disk)."""

    async def png(self, kind: str, shown: object, draw: Callable[[], bytes]) -> bytes:
        """The chart ``draw`` makes of ``shown``: kept, else drawn in a worker thread."""
        key = chart_key(kind, shown)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if key in self._drawing:  # asked for twice at once: drawn once
            return await asyncio.shield(self._drawing[key])
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._drawing[key] = future
        try:
            png = await self._load_or_draw(key, draw)
            future.set_result(png)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a waiter that never comes is no error
            raise
        finally:
            del self._drawing[key]
        self._memory[key] = png
        while len(self._memory) > IN_MEMORY:
            self._memory.popitem(last=False)
        return png

    async def _load_or_draw(self, key: str, draw: Callable[[], bytes]) -> bytes:
        path = self.folder / f"{key}.png" if self.folder is not None else None
        if path is not None:
            stored = await asyncio.to_thread(_read, path)
            if stored is not None:
                return stored
        png = await asyncio.to_thread(draw)
        self.drawn += 1
        if path is not None:
            await asyncio.to_thread(_store, path, png)
        return png


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _store(path: Path, png: bytes) -> None:
    """Write whole or not at all (another worker may read it at once); drop stale charts.
    A folder that cannot be written only costs drawing again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(png)
        partial.replace(path)
        cutoff = time.time() - KEEP
        for old in path.parent.glob("*.png"):
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
    except OSError:
        return
