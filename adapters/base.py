"""What every platform adapter provides to the composition root."""

from __future__ import annotations

from typing import Protocol

from bot.ports import ChatPort
from bot.runtime import Runtime


class Adapter(Protocol):
    """A platform: ``port`` sends for the core; ``start`` begins receiving and handing events
    to ``runtime.handle`` (and may use ``runtime.directory``); ``stop`` ends both."""

    name: str
    port: ChatPort

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...
