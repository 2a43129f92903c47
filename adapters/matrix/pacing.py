"""Honouring the homeserver's “slow down” (M_LIMIT_EXCEEDED) for every send of the account."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Honours M_LIMIT_EXCEEDED for every send of the account.

    Unlimited, sends run concurrently. After a 429 they go one at a time, each at the moment
    the homeserver named (``retry_after_ms``, else ``Retry-After``), counted from when the
    refused request left, so it arrives as the slot opens; the first send that passes without
    waiting or being refused ends the limited mode.
    """

    def __init__(self) -> None:
        self.limited = False
        self.holds = 0
        """How many times the homeserver said “slow down”."""
        self.not_before = 0.0
        self.turn = asyncio.Lock()
        """Held by the one send allowed at a time while limited."""
        self.waited = 0.0
        """Seconds sends spent queued for their turn, in total."""

    def hold(self, retry_after: float, sent_at: float) -> None:
        self.holds += 1
        self.limited = True
        self.not_before = max(self.not_before, sent_at + retry_after + 0.001)

    async def wait_turn(self) -> bool:
        """Sleep until the homeserver's next free slot; True if that took a sleep."""
        delay = self.not_before - time.monotonic()
        if delay <= 0:
            return False
        await asyncio.sleep(delay)
        return True


def retry_after_seconds(body_ms: object, header: str | None, default: float = 1.0) -> float:
    if isinstance(body_ms, int | float) and body_ms >= 0:
        return float(body_ms) / 1000
    if header:
        try:
            return max(float(header), 0.0)
        except ValueError:
            pass
    return default
