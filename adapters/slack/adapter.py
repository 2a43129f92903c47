"""The Slack adapter: bolt's AsyncApp over HTTP (Events API) or Socket Mode, and the port.

    adapter = SlackAdapter.from_settings(settings, clock)   # the composition root
    await adapter.start(runtime)                            # after the runtime started
    ...
    await adapter.stop()                                    # before the runtime stops

Every request is checked by bolt's signature verification (HTTP mode: a bad, missing or more
than five minutes old signature gets 401 before anything runs), then by a team gate: requests
from a workspace with no account in the alliance are refused. Listeners ack at once and do the
slow work in tasks this adapter keeps and awaits on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import settings as slack_settings
from adapters.slack import translate as tr
from adapters.slack.guard import guard
from adapters.slack.listeners import Listeners
from adapters.slack.oauth import OAuth
from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bot.domain.errors import UserError
from bot.edge import Core
from bot.ports import ChatPort, Clock, PlatformError, Rejected
from bot.reach import INSTALL_URL
from bot.retry import RetryPolicy
from bot.settings import Settings
from bot.tasks import TaskGroup

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
REFUSED = (
    "This Slack workspace is not part of the alliance, so alliance-bot does not take "
    "requests from it. Ask the alliance's backbone team if you think it should."
)


class SlackAdapter:
    name = "slack"

    def __init__(
        self,
        port: SlackPort,
        *,
        signing_secret: str | None,
        mode: Literal["http", "socket"] = "http",
        host: str = "127.0.0.1",
        http_port: int = 3000,
        app_token: str | None = None,
        check_timeout: float = 2.0,
        team_ttl: float = 300.0,
        oauth: OAuth | None = None,
    ) -> None:
        if mode == "http" and not signing_secret:
            raise UserError(
                "Slack over HTTP needs ALLIANCE_BOT_SLACK__SIGNING_SECRET (the app's Basic "
                "Information page, App Credentials)."
            )
        if mode == "socket" and not app_token:
            raise UserError(
                "Slack Socket Mode needs ALLIANCE_BOT_SLACK__APP_TOKEN (an xapp- app-level "
                "token with the connections:write scope)."
            )
        self.port: ChatPort = port
        self.slack = port
        """The same port, with the Slack calls the listeners need."""
        self.signing_secret = signing_secret or ""
        self.mode = mode
        self.host = host
        self.http_port = http_port
        self.app_token = app_token
        self.check_timeout = check_timeout
        self.team_ttl = team_ttl
        self.oauth = oauth
        """Installing across workspaces (None: the one bot token)."""
        self.tasks = TaskGroup("slack")
        self.app: AsyncApp | None = None
        self.url = ""
        """The Events API URL being served (HTTP mode), e.g. http://127.0.0.1:3000/slack/events."""
        self._runtime: Core | None = None
        self._runner: web.AppRunner | None = None
        self._socket: Any = None
        self._teams: dict[str, tuple[bool, float]] = {}
        self._connecting: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.routes: list[web.RouteDef] = []
        """More routes for the HTTP server (health and metrics), added when it starts."""

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Clock, pacing: Pacing | None = None
    ) -> SlackAdapter:
        slack = slack_settings.of(settings)
        if slack.bot_token is None and not slack.across_workspaces:
            raise UserError("Slack needs ALLIANCE_BOT_SLACK__BOT_TOKEN (an xoxb- bot token).")

        def secret(value: Any) -> str | None:
            return None if value is None else str(value.get_secret_value())

        pacing = pacing or Pacing(
            channel_per_second=slack.channel_per_second,
            workspace_per_minute=slack.workspace_per_minute,
            tier3_per_minute=slack.tier3_per_minute,
        )
        token = slack.bot_token.get_secret_value() if slack.bot_token else None
        port = SlackPort(token, clock, api_url=slack.api_url, pacing=pacing)
        oauth = None
        if slack.across_workspaces:
            slack.check_oauth()
            oauth = OAuth(slack, port.api_url)
            oauth.sealer()  # a key that is no Fernet key: one sentence now, not at first send
        return cls(
            port,
            signing_secret=secret(slack.signing_secret),
            mode=slack.mode,
            host=slack.host,
            http_port=slack.port,
            app_token=secret(slack.app_token),
            oauth=oauth,
        )

    @property
    def serves_http(self) -> bool:
        return self.mode == "http"

    def is_connected(self) -> bool:
        return self.connected.is_set()

    @property
    def runtime(self) -> Core:
        if self._runtime is None:
            raise RuntimeError("SlackAdapter.start() has not been called")
        return self._runtime

    async def start(self, runtime: Core) -> None:
        """Connect, or (Slack unreachable) go on connecting in the background with backoff,
        so the rest of the bot runs meanwhile. A token Slack refuses raises Rejected."""
        self._runtime = runtime
        try:
            await self._connect(runtime)
        except PlatformError as exc:
            log.warning(
                "Slack is unreachable (%s); the rest of the bot runs, and Slack is tried "
                "again in the background",
                exc,
            )
            self._connecting = asyncio.create_task(self._connect_later(runtime), name="slack")

    async def _connect_later(self, runtime: Core) -> None:
        backoff = RetryPolicy(base_seconds=1.0, max_seconds=60.0)
        tries = 0
        while True:
            tries += 1
            await asyncio.sleep(backoff.delay(tries))
            try:
                await self._connect(runtime)
            except PlatformError as exc:
                log.debug("Slack still unreachable: %s", exc)
                continue
            except Rejected as exc:
                log.error("Slack refused the bot's token (%s); Slack stays off", exc)
                return
            log.info("Slack is reachable again after %d tries", tries)
            return

    async def _connect(self, runtime: Core) -> None:
        """Check the token (auth.test), build the bolt app, then listen (HTTP or Socket Mode)."""
        client = await self.slack.open()
        self.slack.uploaded.keep_in(runtime.directory)  # charts shown again after a restart
        if self.oauth is not None:
            app, team = self._installable(runtime, client), "every workspace that installs it"
        else:
            team, _ = await self.slack.identify()
            if runtime.shared_pace is not None:  # several workers: one workspace limit for all
                self.slack.pacer.share(runtime.shared_pace, f"slack:{team}")
            app = AsyncApp(
                client=client,
                signing_secret=self.signing_secret,
                process_before_response=True,  # listeners only ack and spawn: answering is quick
                name="alliance-bot",
            )
        app.use(self._gate)
        Listeners(self.slack, runtime, self._spawn, check_timeout=self.check_timeout).register(app)
        self.app = app
        if self.mode == "socket":
            await self._start_socket(app)
        else:
            await self._start_http(app)
        if self.oauth is not None:
            link = self.oauth.install_url(self.url.removesuffix(EVENTS_PATH))
            await runtime.directory.set_state(tr.PLATFORM, INSTALL_URL, link)
            log.info("Slack install links: %s?organisation=<slug>", link)
        self.connected.set()
        log.info("Slack adapter started for workspace %s (%s)", team, self.url or "Socket Mode")

    def _installable(self, runtime: Core, client: AsyncWebClient) -> AsyncApp:
        """The bolt app with the OAuth flow, over the installations in the bot's database."""
        assert self.oauth is not None
        tokens = self.oauth.tokens(runtime.installations())
        self.slack.workspaces.installed = tokens
        if runtime.shared_pace is not None:
            self.slack.workspaces.share(runtime.shared_pace)
        app = AsyncApp(
            client=client,
            signing_secret=self.signing_secret,
            process_before_response=True,
            name="alliance-bot",
            oauth_flow=self.oauth.flow(tokens.store, client),
        )
        app.enable_token_revocation_listeners()  # app_uninstalled, tokens_revoked: gone
        return app

    async def _start_http(self, app: AsyncApp) -> None:
        web_app = app.web_app(path=EVENTS_PATH)
        web_app.middlewares.append(guard(self.signing_secret))
        web_app.add_routes(self.routes)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.http_port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{EVENTS_PATH}"

    async def _start_socket(self, app: AsyncApp) -> None:
        """Socket Mode: the same app over a websocket Slack opens; no public URL needed."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._socket = AsyncSocketModeHandler(app, self.app_token)
        await self._socket.connect_async()

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.close()

    async def close(self) -> None:
        await self.slack.close()

    async def stop_receiving(self) -> None:
        """Stop receiving, and finish handing the core the work already acked."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        try:
            await asyncio.wait_for(self.tasks.wait(), timeout=30)
        except TimeoutError:
            log.warning("Slack work did not finish within 30 s; cancelling it")
            await self.tasks.cancel()

    async def idle(self) -> None:
        """Wait until every acked request has been handled and answered (tests)."""
        await self.tasks.wait()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self.tasks.spawn(work, name)

    # --- the team gate ----------------------------------------------------------------------

    async def _gate(
        self,
        body: dict[str, Any],
        context: AsyncBoltContext,
        next: Callable[[], Awaitable[None]],  # bolt passes it by this name
    ) -> BoltResponse | None:
        team = tr.team_of(body) or context.team_id
        event = body.get("event")
        channel = event.get("channel") if isinstance(event, dict) else None
        if team and isinstance(channel, str):
            self.slack.channels.learn(channel, team)
        if await self.allowed(team):
            await next()
            return None
        log.warning("refused a Slack request from workspace %s (not in the alliance)", team)
        return BoltResponse(status=200, body=REFUSED if "command" in body else "")

    async def allowed(self, team: str | None) -> bool:
        """True when some member's Slack account is in ``team`` (cached for ``team_ttl``)."""
        if not team:
            return False
        now = time.monotonic()
        cached = self._teams.get(team)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            verdict = await asyncio.wait_for(
                self.runtime.directory.has_accounts_starting(tr.PLATFORM, f"{team}:"),
                self.check_timeout,
            )
        except Exception as exc:  # a slow or failing database: keep what we knew
            log.warning("could not check Slack workspace %s: %r", team, exc)
            return cached[0] if cached is not None else team == self.slack.team_id
        if len(self._teams) > 1000:
            self._teams.clear()
        self._teams[team] = (verdict, now + self.team_ttl)
        return verdict
