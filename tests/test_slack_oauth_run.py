"""Slack across workspaces as an operator runs it: the real ``alliance-bot run`` process
installed in three workspaces of the fake Slack, and OAuth settings left half done."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack_oauth import CLIENT_ID, CLIENT_SECRET, MultiSlack, Team
from tests.harnesses.slack import SECRET
from tests.test_slack_oauth import (
    ALLIANCE,
    KEY_A,
    PROMPTED,
    TEAMS,
    database_bytes,
    install,
    prompted,
    settings_for,
)


async def test_the_real_bot_process_installs_three_workspaces_and_prompts_them(
    tmp_path: Path,
) -> None:
    """``alliance-bot run`` as an operator starts it: three admins install through their
    links, and the next minute's campaign run reaches all six members, each workspace's
    messages carrying that workspace's token."""
    fake = MultiSlack(teams=[Team(team, set(users)) for team, _, users in TEAMS])
    await fake.start()
    file = tmp_path / "alliance.yaml"
    file.write_text(ALLIANCE.replace('"0 9 * * *"', '"* * * * *"'), encoding="utf-8")
    port = free_port()
    settings = settings_for(fake, port)
    bot = BotProcess(
        bot_env(
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            tmp_path / "data",
            ALLIANCE_FILE=str(file),
            SLACK__CLIENT_ID=CLIENT_ID,
            SLACK__CLIENT_SECRET=CLIENT_SECRET,
            SLACK__TOKEN_KEYS=KEY_A,
            SLACK__SIGNING_SECRET=SECRET,
            SLACK__API_URL=fake.api_url,
            SLACK__AUTHORIZE_URL=fake.authorize_url,
            SLACK__PUBLIC_URL=str(settings.slack.public_url),
            SLACK__PORT=str(port),
        ),
        tmp_path / "bot.log",
    )
    await bot.start()
    try:
        await bot.until(lambda: "Slack install links" in bot.tail(), "the install links", 60)
        async with aiohttp.ClientSession() as http:
            for team, organisation, _ in TEAMS:
                done = await install(http, fake, f"http://127.0.0.1:{port}", team, organisation)
                assert done.startswith("200"), done
        await bot.until(lambda: prompted(fake) == set(PROMPTED), "prompts for all", 150)
        posts = [u for u in fake.used if u[0] == "chat.postMessage"]
        assert {team for _, team, _ in posts} == {team for team, _, _ in TEAMS}
        assert fake.wrong_team == []
        assert "Traceback" not in bot.tail(100_000)
        assert await bot.terminate() == 0
        raw = database_bytes(tmp_path / "bot.db")
        assert b"xoxb-" not in raw and b"xoxe" not in raw
    finally:
        await bot.close()
        await fake.stop()


MISTAKES = {
    "no client secret": ({"SLACK__CLIENT_ID": "1.2"}, ["SLACK__CLIENT_SECRET"]),
    "no token keys": (
        {"SLACK__CLIENT_ID": "1.2", "SLACK__CLIENT_SECRET": "s"},
        ["SLACK__TOKEN_KEYS", "slack new-key"],
    ),
    "a key that is not a Fernet key": (
        {"SLACK__CLIENT_ID": "1.2", "SLACK__CLIENT_SECRET": "s", "SLACK__TOKEN_KEYS": "nope"},
        ["Key 1 of ALLIANCE_BOT_SLACK__TOKEN_KEYS"],
    ),
    "both a bot token and a client id": (
        {"SLACK__CLIENT_ID": "1.2", "SLACK__BOT_TOKEN": "xoxb-1", "SLACK__SIGNING_SECRET": "s"},
        ["unset one of them"],
    ),
}


def test_oauth_configuration_mistakes_are_one_sentence(tmp_path: Path) -> None:
    from tests.test_config_errors import cli_many

    commands = {
        case: (("run",), bot_env(f"sqlite+aiosqlite:///{tmp_path / case}.db", tmp_path, **env), "")
        for case, (env, _) in MISTAKES.items()
    }
    for case, (code, out) in cli_many(commands).items():
        lines = out.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), (case, out)
        assert all(word in lines[0] for word in MISTAKES[case][1]), (case, out)
        assert "xoxb-1" not in out
