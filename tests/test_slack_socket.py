"""Socket Mode against a local websocket: envelopes in, acks out, the same listeners behind."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from adapters.slack.adapter import SlackAdapter
from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bot.clock import ManualClock
from bot.runtime import Runtime
from tests.fakeslack import TOKEN, FakeSlack
from tests.harnesses.slack import command_form, eventually, message_event
from tests.test_slack_adapter import ALLIANCE

APP_TOKEN = "xapp-test-token"


@dataclass
class SocketSlack(FakeSlack):
    """The fake Web API plus apps.connections.open and the websocket it hands out."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.acks: list[dict[str, Any]] = []
        self.connected = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/socket", self._socket)

    def authorised(self, method: str, token: str) -> bool:
        wanted = APP_TOKEN if method == "apps.connections.open" else self.token
        return token == wanted

    def _apps_connections_open(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        self.connected.set()

        async def forward() -> None:
            while True:
                await ws.send_json(await self.envelopes.get())

        sender = asyncio.create_task(forward())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            sender.cancel()
        return ws


async def test_socket_mode_takes_commands_and_events_and_acks_them(
    tmp_path: Path, sqlite_url: str
) -> None:
    fake = await SocketSlack().start()
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, ALLIANCE, encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    port = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=Pacing.unlimited())
    adapter = SlackAdapter(port, signing_secret=None, mode="socket", app_token=APP_TOKEN)
    runtime = Runtime(sqlite_url, clock, {"slack": port}, alliance_file=file, real_time=False)
    await runtime.start()
    try:
        await adapter.start(runtime)
        await asyncio.wait_for(fake.connected.wait(), 10)
        assert adapter.url == ""  # no port was opened
        command = command_form("U0BO", "/alliance-help")
        await fake.envelopes.put(
            {
                "envelope_id": "E1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command,
            }
        )
        event = message_event("U0BO", "D0BO", "help")
        await fake.envelopes.put(
            {
                "envelope_id": "E2",
                "type": "events_api",
                "accepts_response_payload": False,
                "payload": event,
            }
        )
        await eventually(lambda: {"E1", "E2"} <= {a.get("envelope_id") for a in fake.acks})
        await eventually(lambda: bool(fake.ephemerals) and bool(fake.channel("D0BO")))
        assert "What I can do" in fake.ephemerals[0].text
        assert "What I can do" in fake.channel("D0BO")[0].text
    finally:
        await adapter.stop()
        await runtime.stop()
        await fake.stop()
