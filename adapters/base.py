"""What every platform adapter provides to the composition root."""

from __future__ import annotations

from typing import Protocol

from bot.ports import ChatPort
from bot.runtime import Runtime


class Adapter(Protocol):
    """A platform: ``port`` sends for the core; ``start`` connects (ready to send when it
    returns, or retrying in the background) and begins handing events to ``runtime.handle``.

    At the end: ``stop_receiving``, then the core sends what is due, then ``close``."""

    name: str
    port: ChatPort

    async def start(self, runtime: Runtime) -> None: ...

    async def stop_receiving(self) -> None: ...

    async def close(self) -> None: ...
