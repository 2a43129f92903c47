"""One platform down never takes the others with it: the real bot process, started while its
Slack Web API cannot be reached, serves the console at once and connects to Slack when Slack
comes back."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack import TOKEN, FakeSlack
from tests.harness import ALLIANCE
from tests.harnesses.slack import SECRET, message_event, signed, user_of


async def test_slack_unreachable_at_start_leaves_the_console_working(tmp_path: Path) -> None:
    file = tmp_path / "alliance.yaml"
    file.write_text(ALLIANCE, encoding="utf-8")
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
        assert bot.running

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
