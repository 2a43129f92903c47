"""Slack Web API calls: the shared aiohttp session, a client per token on it, and each call
with the token and pacer of the workspace it addresses (``adapters/slack/workspaces.py``).

Errors leave as the core's types: a 429 is RateLimited (the workspace's pacer pauses every call,
and the outbox waits as long as Slack asked), a 5xx or a broken connection is PlatformError
(retried with backoff), and an answer that will not change (no such user, no access, bad token,
a workspace that removed the app) is Rejected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import classify
from adapters.slack.pacing import Pacer, Pacing
from adapters.slack.workspaces import ChannelTeams, InstalledTokens, Workspaces
from bot.ports import Clock, PlatformError, RateLimited, Rejected, Unreachable

log = logging.getLogger(__name__)
DEFAULT_API = "https://slack.com/api/"
Call = Callable[[AsyncWebClient], Awaitable[AsyncSlackResponse]]
Pace = Callable[[Pacer], Awaitable[object]]
DEAD_TOKEN = ("invalid_auth", "token_revoked", "token_expired", "account_inactive")


def api_base(url: str | None) -> str:
    """The Web API base URL as slack_sdk joins it: always ending in ``/api/``."""
    if not url:
        return DEFAULT_API
    url = url.rstrip("/")
    return (url if url.endswith("/api") else url + "/api") + "/"


@dataclass
class PortStats:
    calls: int = 0
    rate_limited: int = 0
    posted: int = 0
    updates_skipped: int = 0
    images_reused: int = 0
    """Uploads answered by showing an image this process uploaded before (``uploads.py``)."""
    paced_seconds: float = 0.0
    """Time calls spent waiting for the pacer's slot (each waiting call counts)."""


class SlackCalls:
    """One workspace's bot token (``token``), or the tokens of every workspace that installed
    the app (``installed``). The session opens on first use (in the running loop)."""

    def __init__(
        self,
        token: str | None,
        clock: Clock,
        *,
        api_url: str | None = None,
        pacing: Pacing | None = None,
        timeout: float = 30.0,
        update_wait: float = 10.0,
        installed: InstalledTokens | None = None,
    ) -> None:
        self._token = token
        self.update_wait = update_wait
        self.clock = clock
        self.api_url = api_base(api_url)
        self.pacing = pacing or Pacing()
        self.pacer = Pacer(self.pacing)
        self.workspaces = Workspaces(self.pacing, self.pacer, token=token, installed=installed)
        self.channels = ChannelTeams(self.workspaces.teams, self._knows_channel)
        self.timeout = timeout
        self.stats = PortStats()
        self.team_id: str | None = None
        self.bot_user_id: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._closed = False
        self._clients: dict[str, AsyncWebClient] = {}

    # --- lifecycle --------------------------------------------------------------------------

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=64),
        )

    def _client_on(
        self, session: aiohttp.ClientSession, token: str | None = None
    ) -> AsyncWebClient:
        return AsyncWebClient(
            token=token or self._token,
            base_url=self.api_url,
            session=session,
            timeout=int(self.timeout),
            retry_handlers=[],  # 429s are ours to pace; other failures go to the outbox
        )

    async def open(self) -> AsyncWebClient:
        """The shared client on the shared session (created once, in the running loop)."""
        if self._client is None or self._session is None or self._session.closed:
            self._closed = False
            self._session = self._new_session()
            self._client = self._client_on(self._session)
            self._clients.clear()
        return self._client

    async def _client_for(self, token: str | None) -> AsyncWebClient:
        """A client with ``token`` on the shared session (the bot token's own by default)."""
        client = await self.open()
        if token is None or token == self._token:
            return client
        found = self._clients.get(token)
        if found is None:
            if len(self._clients) > 256:  # rotated tokens: keep the table small
                self._clients.clear()
            assert self._session is not None
            found = self._clients[token] = self._client_on(self._session, token)
        return found

    @property
    def client(self) -> AsyncWebClient:
        if self._client is None:
            raise RuntimeError("SlackPort.open() has not been awaited")
        return self._client

    async def close(self) -> None:
        """Close the shared session. A send after this (the runtime's last drain of the outbox
        runs after adapters stop) gets a session of its own, closed when it is done."""
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def identify(self) -> tuple[str, str]:
        """(team id, bot user id) from auth.test; a bad token fails here, at start."""
        if self.team_id is None or self.bot_user_id is None:
            response = await self._call(lambda c: c.auth_test())
            self.team_id, self.bot_user_id = str(response["team_id"]), str(response["user_id"])
        return self.team_id, self.bot_user_id

    @property
    def paced_seconds(self) -> float:
        """Seconds our pacing has held calls back, in total (``bot.ports.Paced``)."""
        return self.stats.paced_seconds

    # --- calls ------------------------------------------------------------------------------

    async def _call(
        self, call: Call, pace: Pace | None = None, *, team: str | None = None
    ) -> AsyncSlackResponse:
        """``call`` with the token and pacer of ``team``'s workspace."""
        token = await self.workspaces.token(team)
        pacer = self.workspaces.pacer(team)
        if self._closed:
            async with self._new_session() as session:
                client = self._client_on(session, token)
                return await self._attempts(client, call, pace, pacer, team)
        return await self._attempts(await self._client_for(token), call, pace, pacer, team)

    async def _attempts(
        self, client: AsyncWebClient, call: Call, pace: Pace | None, pacer: Pacer, team: str | None
    ) -> AsyncSlackResponse:
        """One call, paced. A 429 pauses the pacer for everyone and leaves as RateLimited: what
        happens next is the outbox's one retry policy (``bot.retry``), not a loop here."""
        if pace is not None:
            waiting = time.monotonic()
            await pace(pacer)
            self.stats.paced_seconds += time.monotonic() - waiting
        self.stats.calls += 1
        try:
            return await call(client)
        except SlackApiError as exc:
            error = exc.response.get("error")
            problem = classify(exc.response.status_code, error, exc.response.headers)
            if isinstance(problem, RateLimited):
                self.stats.rate_limited += 1
                pacer.pause(problem.retry_after)
                log.info("Slack asked to slow down for %.1f s", problem.retry_after)
            elif error in DEAD_TOKEN and team is not None:
                self.workspaces.forget(team)  # read it again: rotated, or the app removed
            raise problem from exc
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was posted
            raise Unreachable(f"Slack unreachable: {type(exc).__name__}: {exc}") from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PlatformError(f"Slack failed: {type(exc).__name__}: {exc}") from exc

    async def channel_team(self, channel: str) -> str | None:
        return await self.channels.team_of(channel) if self.workspaces.many else None

    async def _knows_channel(self, team: str, channel: str) -> bool:
        """Whether ``team``'s workspace has ``channel`` (conversations.info)."""
        try:
            await self._call(
                lambda c: c.conversations_info(channel=channel),
                pace=lambda p: p.method("conversations.info"),
                team=team,
            )
        except Rejected:
            return False
        return True
