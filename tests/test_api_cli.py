"""``alliance-bot api token create|list|revoke``, and the API served by the real bot process
(``alliance-bot run`` with only the console) on its health port, ALLIANCE_BOT_HTTP__PORT."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.cli import app
from bot.api import tokens
from bot.storage.database import Database
from bot.storage.records import ApiToken, AuditEvent
from tests.botprocess import BotProcess, bot_env, free_port
from tests.conftest import EXAMPLE

runner = CliRunner()


def _cli(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, "api", "token", *args])
    return result.exit_code, result.stdout, result.stderr


def _rows(url: str) -> tuple[list[ApiToken], list[str]]:
    async def read() -> tuple[list[ApiToken], list[str]]:
        db = Database(url)
        try:
            async with db.session() as s:
                found = list((await s.scalars(select(ApiToken).order_by(ApiToken.id))).all())
                actions = list((await s.scalars(select(AuditEvent.action))).all())
                return found, actions
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_tokens_are_made_listed_and_revoked_from_the_command_line(db_url: str) -> None:
    code, out, err = _cli(db_url, "create", "--role", "reader", "--name", "dashboard")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("ab_") and len(token) == 46 and "shown this once" in err
    code, out, err = _cli(db_url, "create", "--role", "staff", "--name", "staff board")
    assert code == 0, err
    staff = out.strip()
    code, _, err = _cli(db_url, "create", "--role", "staff", "--name", "dashboard")
    assert code == 2 and "already in use" in err
    code, _, err = _cli(db_url, "create", "--role", "admin", "--name", "x")
    assert code == 2  # only staff or reader

    code, listing, _ = _cli(db_url, "list")
    assert code == 0 and "dashboard" in listing and "reader" in listing
    assert token not in listing and staff not in listing and token[:7] in listing

    code, out, _ = _cli(db_url, "revoke", "dashboard")
    assert code == 0 and "revoked" in out
    code, _, err = _cli(db_url, "revoke", "dashboard")  # no token in use has that name now
    assert code == 2 and "No token in use" in err
    code, out, _ = _cli(db_url, "revoke", "2")  # by id
    assert code == 0
    rows, actions = _rows(db_url)
    assert [(r.name, r.role, r.revoked_at is not None) for r in rows] == [
        ("dashboard", "reader", True),
        ("staff board", "staff", True),
    ]
    assert rows[0].token_hash == tokens.digest(token) and token not in rows[0].prefix + "…"
    assert sorted(actions) == ["api-token-create"] * 2 + ["api-token-revoke"] * 2
    code, _, _ = _cli(db_url, "create", "--role", "reader", "--name", "dashboard")
    assert code == 0  # the name is free again once revoked


async def test_the_real_bot_serves_the_api_with_only_the_console(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as s:
            _, token = await tokens.create(s, "probe", tokens.Role.READER, at=datetime.now(UTC))
    finally:
        await db.dispose()
    port = free_port()
    env = bot_env(url, tmp_path / "data", ALLIANCE_FILE=str(EXAMPLE), HTTP__PORT=str(port))
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    base = f"http://127.0.0.1:{port}/api/v1"
    seen: dict[str, object] = {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

            async def answers() -> bool:
                try:
                    headers = {"Authorization": f"Bearer {token}"}
                    async with http.get(base + "/organisations", headers=headers) as response:
                        seen["status"], seen["body"] = response.status, await response.json()
                except (aiohttp.ClientError, TimeoutError):
                    return False
                body = seen["body"]  # served from the start; the alliance loads meanwhile
                return seen["status"] == 200 and isinstance(body, dict) and bool(body["data"])

            await bot.until(answers, "the example's organisations at /api/v1/", within=60)
            body = seen["body"]
            assert isinstance(body, dict) and body["data"] and body["next"] is None
            async with http.get(base + "/checkins") as response:
                assert response.status == 401
        assert await bot.terminate() == 0
    finally:
        await bot.close()
    assert token not in bot.tail(1_000_000)
