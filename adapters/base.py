"""What every platform adapter provides to the composition root."""

from __future__ import annotations

from typing import Protocol

from bot.edge import Core
from bot.ports import ChatPort


class Adapter(Protocol):
    """A platform: ``port`` sends for the core; ``start`` connects (ready to send when it
    returns, or retrying in the background) and begins handing events to ``core.handle``: it
    holds the core only as ``bot.edge.Core``.

    At the end: ``stop_receiving``, then the core sends what is due, then ``close``."""

    name: str
    port: ChatPort

    async def start(self, core: Core) -> None: ...

    async def stop_receiving(self) -> None: ...

    async def close(self) -> None: ...
