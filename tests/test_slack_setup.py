"""Setting Slack up: settings pick the mode, the manifest matches the code, and
``alliance-bot run`` serves Slack and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from adapters.settings import Settings
from adapters.slack.adapter import EVENTS_PATH, SlackAdapter
from adapters.slack.settings import SlackSettings
from adapters.slack.translate import COMMANDS
from bot.clock import ManualClock
from bot.domain.errors import UserError
from tests.conftest import REPO
from tests.fakeslack import TOKEN, FakeSlack
from tests.harnesses.slack import SECRET, SlackClient, command_form, eventually
from tests.test_slack_adapter import ALLIANCE, START


def test_settings_choose_the_mode_and_refuse_half_configurations() -> None:
    clock = ManualClock(START)
    http = SlackAdapter.from_settings(
        Settings(
            slack={
                "bot_token": "xoxb-1",
                "signing_secret": "s",
                "port": 0,
                "api_url": "http://127.0.0.1:9",
            }
        ),
        clock,
    )
    assert (http.mode, http.host, http.http_port) == ("http", "127.0.0.1", 0)
    assert http.slack.api_url == "http://127.0.0.1:9/api/"
    socket = SlackAdapter.from_settings(
        Settings(slack={"bot_token": "xoxb-1", "app_token": "xapp-1", "mode": "socket"}), clock
    )
    assert socket.mode == "socket" and socket.app_token == "xapp-1"
    with pytest.raises(UserError, match="SIGNING_SECRET"):
        SlackAdapter.from_settings(Settings(slack={"bot_token": "xoxb-1"}), clock)
    with pytest.raises(UserError, match="APP_TOKEN"):
        SlackAdapter.from_settings(Settings(slack={"bot_token": "x", "mode": "socket"}), clock)


def test_the_manifest_asks_for_the_least_and_matches_the_code() -> None:
    manifest = yaml.safe_load((REPO / "adapters" / "slack" / "manifest.yaml").read_text("utf-8"))
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert tuple(commands) == COMMANDS
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "chat:write",
        "im:write",
        "im:history",
        "channels:history",
        "channels:read",
        "groups:read",
        "commands",
        "files:write",
        "reactions:read",
    }
    # Installing asks for what the app declares: Slack refuses a scope it was not given.
    assert set(SlackSettings().scopes.split(",")) == scopes
    events = manifest["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == {
        "app_home_opened",
        "message.im",
        "message.channels",
        "reaction_added",
        "reaction_removed",
    }
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [events["request_url"], manifest["settings"]["interactivity"]["request_url"]]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


async def test_alliance_bot_run_serves_slack_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The composition root builds the adapter from ALLIANCE_BOT_SLACK__* settings."""
    fake = await FakeSlack().start()
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, ALLIANCE, encoding="utf-8")
    env = {
        **os.environ,
        "ALLIANCE_BOT_DATA_DIR": str(tmp_path / "data"),
        "ALLIANCE_BOT_ALLIANCE_FILE": str(file),
        "ALLIANCE_BOT_SLACK__BOT_TOKEN": TOKEN,
        "ALLIANCE_BOT_SLACK__SIGNING_SECRET": SECRET,
        "ALLIANCE_BOT_SLACK__PORT": "0",
        "ALLIANCE_BOT_SLACK__API_URL": fake.api_url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters", "run", cwd=REPO, env=env,
        stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        seen = ""
        while "Slack adapter started" not in seen:
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line, seen
            seen += line.decode()
        url = seen.rsplit("(", 1)[1].split(")")[0]
        async with aiohttp.ClientSession() as session:
            status, _ = await SlackClient(url, session).form(command_form("U0BO", "/alliance-help"))
        assert status == 200
        await eventually(lambda: bool(fake.ephemerals), 20)
        assert "What I can do" in fake.ephemerals[0].text
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        rest = (await proc.stderr.read()).decode()
        assert "Traceback" not in rest and "Unclosed" not in rest, rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
