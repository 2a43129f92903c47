"""Token rotation with several workers: two refreshing one workspace's expiring token at the
same moment. Slack takes a refresh token once (the fake, like Slack, refuses it the second
time); the worker that was refused finds the other's refresh in the shared store, instead of
declaring the workspace gone and failing its sends for good."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from aiohttp import web
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installs import InstallationStore, Sealer
from adapters.slack.workspaces import InstalledTokens
from bot.clock import SystemClock
from bot.reach import Installations
from bot.storage.database import Database
from tests.fakeslack_oauth import CLIENT_ID, CLIENT_SECRET, MultiSlack, Team

TEAM = "T1ANN"


class SlowRefresh(MultiSlack):
    """Answers a refresh after a moment, so two workers' refreshes are under way together."""

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "oauth.v2.access":
            await asyncio.sleep(0.3)
        return await super()._api(request)


async def test_two_workers_refreshing_at_once_both_get_the_new_token(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = await SlowRefresh(teams=[Team(TEAM, {"U1ANNA"})], expires_in=3600).start()
    key = Sealer.new_key()
    dbs = [Database(db_url), Database(db_url)]
    try:
        await dbs[0].upgrade()
        stores = [InstallationStore(Installations(db, SystemClock()), Sealer([key])) for db in dbs]
        issued = fake._issue(TEAM)
        await stores[0].async_save(
            Installation(
                app_id="A0APP",
                enterprise_id=None,
                team_id=TEAM,
                bot_token=issued["access_token"],
                bot_refresh_token=issued["refresh_token"],
                bot_token_expires_in=60,  # due: refreshed 30 minutes before it expires
                bot_id="B0ANN",
                bot_user_id="U1ANNBOT",
                user_id="U1ANNA",
                installed_at=time.time(),
            )
        )
        workers = [
            InstalledTokens(
                store,
                AsyncTokenRotator(
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    client=AsyncWebClient(base_url=fake.api_url),
                ),
                rotation_minutes=30,
            )
            for store in stores
        ]
        with caplog.at_level(logging.INFO, logger="adapters.slack.workspaces"):
            tokens = await asyncio.gather(*(w.token(TEAM) for w in workers))
        assert fake.refreshes == 1, "Slack took the refresh token once"
        assert tokens[0] == tokens[1] and tokens[0] in fake.tokens_of(TEAM)
        assert sum(w.refreshed for w in workers) == 1
        assert "another worker refreshed its token" in caplog.text  # read from the store
    finally:
        for db in dbs:
            await db.dispose()
        await fake.stop()
