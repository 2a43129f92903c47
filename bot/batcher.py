"""Answers arriving together are handed to the core in batches (see bot/ingest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.events import InboundEvent
from bot.ports import Reply


class Batcher:
    """Gathers answers arriving together and hands them over in batches (at most ``size``)."""

    def __init__(
        self, handle: Callable[[list[InboundEvent]], Awaitable[list[list[Reply]]]], size: int = 500
    ) -> None:
        self.handle = handle
        self.size = size
        self._queue: asyncio.Queue[tuple[InboundEvent, asyncio.Future[list[Reply]]]] = (
            asyncio.Queue()
        )

    async def submit(self, event: InboundEvent) -> list[Reply]:
        future: asyncio.Future[list[Reply]] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, future))
        return await future

    async def run(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and self._queue.empty()):
            getter = asyncio.ensure_future(self._queue.get())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()
                continue
            batch = [getter.result()]
            while len(batch) < self.size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self.handle([event for event, _ in batch])
            except Exception as exc:  # the futures learn of it; the loop goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), replies in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(replies)
