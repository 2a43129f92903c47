"""Nothing lost, nothing twice, for webhooks: a real ``alliance-bot run`` is SIGKILLed while a
request to the dashboard is in flight. After the restart the event goes again with the same
``X-Alliance-Delivery``, so a receiver that skips what it has already seen stores every event
exactly once; none is lost, and a SIGTERM at the end stops the bot cleanly."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.domain.values import DeliveryKind
from bot.storage.database import Database
from bot.storage.records import Delivery, Webhook
from bot.webhooks import endpoints, signing
from tests.botprocess import BotProcess, bot_env

SECRET = "whsec_kill-test"
EVENTS = 5


class Hanging:
    """A receiver whose first request never gets an answer (the bot dies waiting)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bool]] = []
        self.in_flight = asyncio.Event()
        self._never = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def _take(self, request: web.Request) -> web.Response:
        raw = await request.read()
        ok = signing.verify(
            SECRET,
            raw,
            request.headers.get(signing.TIMESTAMP),
            request.headers.get(signing.SIGNATURE),
            datetime.now(UTC).timestamp(),
        )
        first = not self.got
        self.got.append((request.headers.get(signing.DELIVERY, ""), ok))
        if first:
            self.in_flight.set()
            await self._never.wait()  # until the bot is killed and the connection drops
        return web.Response(status=200 if ok else 401)

    async def stop(self) -> None:
        self._never.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Hanging]:
    found = Hanging()
    await found.start()
    try:
        yield found
    finally:
        await found.stop()


async def test_a_webhook_in_flight_at_a_kill_is_sent_again_under_the_same_id(
    tmp_path: Path, receiver: Hanging
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    file = tmp_path / "alliance.yaml"
    file.write_text(
        textwrap.dedent(f"""\
            alliance: {{name: Kill Alliance, default_timezone: UTC}}
            organisations:
              - {{slug: lib, name: The Library, country: DE, timezone: UTC}}
            members:
              - {{id: ada, name: Ada, organisation: lib, role: admin}}
            webhooks:
              - {{key: dash, url: "{receiver.url}", secret_env: KILL_HOOK_SECRET, role: staff}}
            """),
        encoding="utf-8",
    )
    env = bot_env(url, tmp_path / "data", ALLIANCE_FILE=str(file))
    env["KILL_HOOK_SECRET"] = SECRET
    bot = BotProcess(env, tmp_path / "bot.log")
    db = Database(url)
    try:
        await bot.start()

        async def hook_loaded() -> bool:
            try:
                async with db.session() as s:
                    return await s.scalar(select(Webhook.id)) is not None
            except Exception:
                return False

        await bot.until(hook_loaded, "the alliance file's webhook", within=60)
        for _ in range(EVENTS):
            async with db.session() as s:
                await endpoints.ping(s, "dash", at=datetime.now(UTC))
        await asyncio.wait_for(receiver.in_flight.wait(), 30)
        await bot.kill()
        assert len(receiver.got) == 1  # the rest waited behind the one in flight

        await bot.start()
        await bot.until(lambda: len({d for d, _ in receiver.got}) == EVENTS, "every event")
        await asyncio.sleep(1.5)  # nothing more comes
        assert await bot.terminate() == 0
        ids = [d for d, _ in receiver.got]
        assert all(ok for _, ok in receiver.got)
        assert len(set(ids)) == EVENTS  # none lost
        assert ids.count(ids[0]) == 2 and len(ids) == EVENTS + 1  # only the one in flight twice
        async with db.session() as s:
            sent = await s.scalar(
                select(func.count(Delivery.id)).where(
                    Delivery.kind == DeliveryKind.WEBHOOK.value, Delivery.status == "sent"
                )
            )
        assert sent == EVENTS
        assert "whsec_" not in bot.tail(100_000)  # the secret never reaches the log
    finally:
        await bot.close()
        await db.dispose()
