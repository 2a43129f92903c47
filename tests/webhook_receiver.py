"""A dashboard's webhook receiver on 127.0.0.1, as an alliance would run one: it checks each
signature like Slack's, answers with the status a test asks for, and keeps what it got."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.webhooks import signing


@dataclass
class Got:
    event: str
    delivery: str
    body: dict[str, Any]
    raw: bytes
    signed: bool
    status: int
    stamp: int


@dataclass
class Receiver:
    secret: str
    statuses: list[int] = field(default_factory=list)
    """Answers to give, one per request, before answering 200 to the rest."""
    got: list[Got] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _take(self, request: web.Request) -> web.Response:
        raw = await request.read()
        signed = signing.verify(
            self.secret,
            raw,
            request.headers.get(signing.TIMESTAMP),
            request.headers.get(signing.SIGNATURE),
            self.clock(),
        )
        status = self.statuses.pop(0) if self.statuses else 200
        if not signed:
            status = 401
        self.got.append(
            Got(
                request.headers.get(signing.EVENT, ""),
                request.headers.get(signing.DELIVERY, ""),
                json.loads(raw),
                raw,
                signed,
                status,
                int(request.headers.get(signing.TIMESTAMP, "0")),
            )
        )
        return web.Response(status=status)

    def accepted(self, event: str | None = None) -> list[Got]:
        """What the dashboard took in, once per delivery id, as a receiver that dedupes."""
        seen: dict[str, Got] = {}
        for g in self.got:
            if g.status < 300 and (event is None or g.event == event):
                seen.setdefault(g.delivery, g)
        return list(seen.values())
