"""One platform down never takes the others with it: the real bot process, started while its
Slack Web API cannot be reached, serves the console and a Matrix member (a real nio client on
a local Synapse) at once, and connects to Slack when Slack comes back."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.matrix import translate
from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack import TOKEN, FakeSlack
from tests.harness import slack_id
from tests.harnesses.slack import SECRET, message_event, signed, user_of
from tests.matrixmember import PICKLE, MemberClient, shared_session
from tests.synapse import Account, SynapseServer, SynapseUnavailable, available


def alliance_text(matrix_member: str) -> str:
    """Berta on Slack (and the console), and one member on the local Synapse."""
    return (
        "alliance: {name: Parts, default_timezone: UTC}\n"
        "organisations:\n"
        "  - {slug: lib, name: The Library, kind: library, country: DE, timezone: UTC}\n"
        "members:\n"
        f'  - {{id: berta, name: Berta, organisation: lib, slack: "{slack_id("berta")}"}}\n'
        f"  - {{id: {matrix_member}, name: Mia, organisation: lib, "
        f'matrix: "@{matrix_member}:localhost"}}\n'
    )


@pytest.fixture
async def synapse_member(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[SynapseServer, Account, MemberClient]]:
    """The session's Synapse, a fresh bot account, and a fresh member syncing on nio."""
    if not available():
        pytest.skip("Synapse is not installed here (pip install -e '.[test]')")
    try:
        session = await asyncio.to_thread(shared_session, request)
    except SynapseUnavailable as exc:
        pytest.skip(f"Synapse unavailable: {exc}")
    tag = secrets.token_hex(3)
    bot = await asyncio.to_thread(session.server.register, f"bot{tag}")
    member = await asyncio.to_thread(MemberClient, session, f"mia{tag}", bot.user_id)
    await member.start()
    try:
        yield session.server, bot, member
    finally:
        await member.stop()


async def matrix_reply(member: MemberClient, text: str) -> str:
    """Send ``text`` in the member's direct chat with the bot; the body of the bot's reply."""
    room_id = await member.open_dm()
    sent = await member.send(room_id, {"msgtype": "m.text", "body": text})

    def replies() -> list[str]:
        return [
            str(content.get("body", ""))
            for _event, _room, content in member.from_bot()
            if content.get(translate.REPLY_TO_KEY) == sent
        ]

    await member.wait(lambda: bool(replies()), f"a reply to {text!r}")
    return replies()[0]


async def test_slack_unreachable_at_start_leaves_console_and_matrix_working(
    tmp_path: Path, synapse_member: tuple[SynapseServer, Account, MemberClient]
) -> None:
    server, matrix_bot, member = synapse_member
    file = tmp_path / "alliance.yaml"
    file.write_text(alliance_text(member.account.localpart), encoding="utf-8")
    api_port, events_port = free_port(), free_port()
    bot = BotProcess(
        bot_env(
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            tmp_path / "data",
            ALLIANCE_FILE=str(file),
            CONSOLE__ENABLED="true",
            SLACK__BOT_TOKEN=TOKEN,
            SLACK__SIGNING_SECRET=SECRET,
            SLACK__API_URL=f"http://127.0.0.1:{api_port}/api/",
            SLACK__PORT=str(events_port),
            MATRIX__HOMESERVER=server.url,
            MATRIX__USER_ID=matrix_bot.user_id,
            MATRIX__ACCESS_TOKEN=matrix_bot.access_token,
            MATRIX__DEVICE_ID=matrix_bot.device_id,
            MATRIX__STORE_PATH=str(tmp_path / "store"),
            MATRIX__PICKLE_KEY=PICKLE,
        ),
        tmp_path / "bot.log",
    )
    fake: FakeSlack | None = None
    await bot.start()
    try:
        await bot.until(lambda: "Slack is unreachable" in bot.tail(), "word that Slack is down")
        bot.type("as berta")
        bot.type("mydata")
        await bot.until(
            lambda: "You have no check-ins yet" in bot.tail(), "a console reply", within=30
        )
        assert "You have no check-ins yet" in await matrix_reply(member, "!mydata")
        assert bot.running
        assert "Slack adapter started" not in bot.tail(100_000)  # Slack is still down

        fake = await FakeSlack().start(port=api_port)  # Slack is back
        await bot.until(lambda: "Slack adapter started" in bot.tail(), "Slack connected", 30)
        body = json.dumps(message_event(user_of("berta"), "D0BERTA", "help"))
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{events_port}/slack/events",
                data=body,
                headers={"Content-Type": "application/json", **signed(body)},
            ) as response,
        ):
            assert response.status == 200
        await bot.until(lambda: bool(fake and fake.channel("D0BERTA")), "a reply on Slack", 30)
        log = bot.tail(100_000)
        assert "Traceback" not in log
        assert log.count("Slack is unreachable") == 1  # said once, not per retry
    finally:
        await bot.close()
        if fake is not None:
            await fake.stop()
