"""Three Slack workspaces of the fake (tests/fakeslack_oauth.py), their installations already in
the bot's database, and a campaign whose due prompts wait in the outbox: what
tests/test_workers.py and bench/worker_sends.py start their ``alliance-bot run`` workers on.

    fake = await three_workspaces(members, Limits(workspace_per_minute=3000)).start()
    await installed(url, fake)              # as if each admin had pressed "Allow"
    await prepare(url, file, fire)          # the campaign's deliveries, due at ``fire``
    env = worker_env(url, data_dir, fake, per_minute=2850)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from slack_sdk.oauth.installation_store import Installation

from adapters.slack.installs import InstallationStore, Sealer
from bot.clock import ManualClock, SystemClock
from bot.reach import Installations
from bot.runtime import Runtime
from bot.storage.database import Database
from tests.botprocess import bot_env, free_port
from tests.fakeslack_oauth import CLIENT_ID, CLIENT_SECRET, MultiSlack, Team
from tests.fakeslack_parts import Limits
from tests.harnesses.slack import SECRET

TEAMS = ("T0ANN", "T0BEE", "T0CEE")
KEY = Sealer.new_key()
"""The key every worker seals and opens the installations with (one per test run)."""


def team_of(n: int) -> str:
    return TEAMS[n % len(TEAMS)]


def user_of(n: int) -> str:
    return f"U{n % len(TEAMS) + 1}M{n:04d}"


def dm_of(n: int) -> str:
    return "D" + user_of(n)[1:]


def three_workspaces(members: int, limits: Limits, max_calls: int = 100_000) -> MultiSlack:
    """The fake with ``members`` people spread over three workspaces, each capped by
    ``limits.workspace_per_minute`` on its own."""
    teams = [Team(team, name=team) for team in TEAMS]
    for n in range(members):
        teams[n % len(TEAMS)].users.add(user_of(n))
    return MultiSlack(teams=teams, limits=limits, max_calls=max_calls)


def alliance(fire: datetime, members: int) -> str:
    """One organisation per workspace; everyone gets one prompt at ``fire``."""
    lines = ["alliance: {name: Workers, default_timezone: UTC}", "organisations:"]
    lines += [
        f"  - {{slug: org{t}, name: Org {t}, kind: library, country: DE, timezone: UTC}}"
        for t in range(len(TEAMS))
    ]
    lines.append("members:")
    lines += [
        f"  - {{id: m{n:04d}, name: M{n}, organisation: org{n % len(TEAMS)}, "
        f'slack: "{team_of(n)}:{user_of(n)}"}}'
        for n in range(members)
    ]
    lines += [
        "campaigns:",
        "  - {key: pulse, name: Pulse, prompts: [name-a-barrier], "
        f"schedule: '{fire:%M %H} * * *', timezone: UTC}}",
    ]
    return "\n".join(lines) + "\n"


async def prepare(url: str, file: Path, fire: datetime) -> int:
    """The campaign's due deliveries, made by a runtime with no platform running; how many."""
    clock = ManualClock(fire - timedelta(minutes=1))
    runtime = Runtime(url, clock, {}, alliance_file=file, real_time=False,
                      background_dispatch=False, stop_timeout=0)  # fmt: skip
    await runtime.start()
    try:
        clock.set(fire + timedelta(seconds=5))
        return await runtime.planner.tick()
    finally:
        await runtime.stop()


async def installed(url: str, fake: MultiSlack) -> None:
    """Each workspace's installation, as the OAuth flow stores it (sealed with ``KEY``), with
    a token the fake issued for that workspace."""
    db = Database(url)
    try:
        store = InstallationStore(Installations(db, SystemClock()), Sealer([KEY]))
        for t, team in enumerate(TEAMS):
            token = fake._issue(team)["access_token"]
            installation = Installation(
                app_id="A0APP",
                enterprise_id=None,
                team_id=team,
                team_name=team,
                bot_token=token,
                bot_id=f"B0{team[1:]}",
                bot_user_id=fake.workspace(team).bot_user,
                user_id=min(fake.workspace(team).users),
                installed_at=time.time(),
            )
            await store.async_save(installation, organisation=f"org{t}")
    finally:
        await db.dispose()


def worker_env(url: str, data_dir: Path, fake: MultiSlack, per_minute: float) -> dict[str, str]:
    """A worker installed in the three workspaces, pacing each at ``per_minute``."""
    port = free_port()
    return bot_env(
        url,
        data_dir,
        CONSOLE__ENABLED="false",
        SLACK__CLIENT_ID=CLIENT_ID,
        SLACK__CLIENT_SECRET=CLIENT_SECRET,
        SLACK__TOKEN_KEYS=KEY,
        SLACK__SIGNING_SECRET=SECRET,
        SLACK__API_URL=fake.api_url,
        SLACK__AUTHORIZE_URL=fake.authorize_url,
        SLACK__PUBLIC_URL=f"http://127.0.0.1:{port}",
        SLACK__PORT=str(port),
        SLACK__WORKSPACE_PER_MINUTE=str(per_minute),
        SLACK__CHANNEL_PER_SECOND="0",
    )
