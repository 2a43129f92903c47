"""Answers arriving together are handed to the core in batches (see bot/ingest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.events import InboundEvent
from bot.ports import Reply, ReplyTo

Item = tuple[InboundEvent, ReplyTo]
Result = list[Reply] | None
Handler = Callable[[list[Item], bool], Awaitable[list[Result]]]


class Batcher:
    """Gathers answers arriving together and hands them over in batches (at most ``size``);
    patient and impatient answers (see ``Service.handle``) go in batches of their own."""

    def __init__(self, handle: Handler, size: int = 500) -> None:
        self.handle = handle
        self.size = size
        self._queue: asyncio.Queue[tuple[Item, bool, asyncio.Future[Result]]] = asyncio.Queue()

    async def submit(self, item: Item, patient: bool) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, patient, future))
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
            for patient in (True, False):
                await self._hand_over([b for b in batch if b[1] is patient], patient)

    async def _hand_over(
        self, batch: list[tuple[Item, bool, asyncio.Future[Result]]], patient: bool
    ) -> None:
        if not batch:
            return
        try:
            results = await self.handle([item for item, _, _ in batch], patient)
        except Exception as exc:  # the futures learn of it; the loop goes on
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), replies in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(replies)
