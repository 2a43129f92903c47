"""A local fake of the Slack Web API: aiohttp on 127.0.0.1, a free port, bodies recorded.

It checks the bot token, answers the methods the adapter uses the way Slack does (including
``files_upload_v2``'s three steps and posting to a user id, which lands in the bot's DM), and
enforces configurable rates: per channel and per workspace for messages, answering 429 with a
``Retry-After`` header when called faster. Nothing leaves the loopback interface; what it keeps is
bounded.

    fake = FakeSlack(limits=Limits(channel_per_second=1, workspace_per_minute=6000))
    await fake.start()            # fake.api_url is http://127.0.0.1:<port>/api/
    ...
    await fake.stop()
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakeslack_files import FileUploads
from tests.fakeslack_parts import (
    Bucket,
    Call,
    Ephemeral,
    Hold,
    Limits,
    Message,
    SlackError,
    check_post,
    dm_of,
    read_body,
)
from tests.fakeslack_respond import Responses

TOKEN = "xoxb-test-token"
TEAM = "T0TEST"
BOT_USER = "U0BOT"


@dataclass
class FakeSlack(FileUploads):
    token: str = TOKEN
    team: str = TEAM
    bot_user: str = BOT_USER
    limits: Limits = field(default_factory=Limits)
    member_of: frozenset[str] | None = None
    """Channels (C/G) the bot is in; None: every channel."""
    max_calls: int = 200_000

    def __post_init__(self) -> None:
        self.calls: deque[Call] = deque(maxlen=self.max_calls)
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: list[dict[str, Any]] = []
        self.homes: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.responses = Responses()
        """Slash commands' response URLs: ``responses.url()``, then ``responses.posted``."""
        self.rate_limited = 0
        self.peers: set[Any] = set()
        """Client (host, port) pairs seen: one per TCP connection the bot opened."""
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._lost: dict[str, int] = {}
        self._holds: list[Hold] = []
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._epoch = int(time.time())
        self._workspace = Bucket(
            self.limits.workspace_per_minute / 60, self.limits.workspace_burst, self.limits.jitter
        )
        self._channels: dict[str, Bucket] = {}
        self._runner: web.AppRunner | None = None
        self.base = ""

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeSlack:
        app = web.Application(client_max_size=4 * 2**20)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/_fake/stats", self._stats)
        self.responses.route(app)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        host, port = self._runner.addresses[0][:2]
        self.base = self.responses.base = f"http://{host}:{port}"
        return self

    def routes(self, app: web.Application) -> None:
        """More routes, for a subclass (a Socket Mode websocket)."""

    def authorised(self, method: str, token: str) -> bool:
        return token == self.token

    async def stop(self) -> None:
        for hold in self._holds:  # a held request would keep the server from closing
            hold.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # --- what tests read --------------------------------------------------------------------

    def channel(self, channel: str) -> list[Message]:
        return self.messages.get(channel, [])

    def find(self, ref: str) -> Message | None:
        channel, _, ts = ref.partition(":")
        return next((m for m in self.channel(channel) if m.ts == ts), None)

    def method_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def fail(
        self, method: str, status: int = 500, error: str = "internal_error", times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` with ``error``."""
        self._failures.setdefault(method, []).extend([(status, error)] * times)

    def lose(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect, but their answer is a 503."""
        self._lost[method] = self._lost.get(method, 0) + times

    def hold(
        self,
        method: str,
        match: Callable[[dict[str, Any]], bool] = lambda body: True,
        *,
        effect: bool = True,
    ) -> Hold:
        """The next call of ``method`` whose body ``match`` accepts gets no answer until
        ``hold.release()``; with ``effect`` it takes effect first (the message is posted),
        without it never does. A crash test kills the bot while the call hangs."""
        hold = Hold(method, match, effect)
        self._holds.append(hold)
        return hold

    def _held(self, method: str, body: dict[str, Any]) -> Hold | None:
        for hold in self._holds:
            if hold.body is None and hold.method == method and hold.match(body):
                hold.body = body
                hold.arrived.set()
                return hold
        return None

    def stats(self) -> dict[str, Any]:
        """Totals for benchmarks (the fake may run in another process)."""
        posted = [c for c in self.calls if c.method == "chat.postMessage" and c.ok]
        keys = Counter(
            (self._resolve(str(c.body["channel"])), json.dumps(c.body.get("metadata")))
            for c in posted
            if c.body.get("metadata")
        )
        return {
            "calls": len(self.calls),
            "posted": len(posted),
            "rate_limited": self.rate_limited,
            "duplicates": sum(n - 1 for n in keys.values()),
            "span_s": posted[-1].at - posted[0].at if len(posted) > 1 else 0.0,
        }

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    # --- the API ----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await read_body(request)
        now = time.monotonic()
        self.peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        if self._failures.get(method):
            status, error = self._failures[method].pop(0)
            self.calls.append(Call(method, body, status, now, False))
            return web.json_response({"ok": False, "error": error}, status=status)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else str(body.pop("token", ""))
        if not token:
            return self._answer(method, body, now, {"ok": False, "error": "not_authed"})
        if not self.authorised(method, token):
            return self._answer(method, body, now, {"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return self._answer(method, body, now, {"ok": False, "error": "unknown_method"})
        hold = None
        try:
            if method in ("chat.postMessage", "files.completeUploadExternal"):
                channel = self._resolve(str(body.get("channel") or body.get("channel_id") or ""))
                early = self._early(channel, now)
                if early > 0:
                    self.rate_limited += 1
                    self.calls.append(Call(method, body, 429, now, False))
                    return web.json_response(
                        {"ok": False, "error": "ratelimited"},
                        status=429,
                        headers={"Retry-After": str(max(1, math.ceil(early)))},
                    )
            hold = self._held(method, body)
            if hold is not None and not hold.effect:
                self.calls.append(Call(method, body, 0, now, False))
                await hold.released.wait()
                return web.json_response({"ok": False, "error": "fatal_error"}, status=503)
            result = handler(body, now)
        except SlackError as exc:
            result = {"ok": False, "error": exc.error}
        if hold is not None:
            await hold.released.wait()
        if self._lost.get(method):
            self._lost[method] -= 1
            self.calls.append(Call(method, body, 503, now, False))
            return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        return self._answer(method, body, now, result)

    def _answer(
        self, method: str, body: dict[str, Any], now: float, result: dict[str, Any]
    ) -> web.Response:
        self.calls.append(Call(method, body, 200, now, bool(result.get("ok"))))
        return web.json_response(result)

    def _early(self, channel: str, now: float) -> float:
        """How early a message to ``channel`` is for the limits (0: it may go), booking it."""
        bucket = self._channels.get(channel)
        if bucket is None:
            bucket = Bucket(
                self.limits.channel_per_second, self.limits.channel_burst, self.limits.jitter
            )
            self._channels[channel] = bucket
        workspace = self._workspace_of(channel)
        early = max(bucket.wait(now), workspace.wait(now))
        if early == 0:
            bucket.take(now)
            workspace.take(now)
        return early

    def _workspace_of(self, channel: str) -> Bucket:
        """The workspace cap a message to ``channel`` counts against (one workspace here)."""
        return self._workspace

    def _resolve(self, channel: str) -> str:
        if channel[:1] in ("U", "W"):
            return dm_of(channel)
        if channel[:1] not in ("C", "G", "D") or len(channel) < 3:
            raise SlackError("channel_not_found")
        return channel

    def _writable(self, channel: str) -> str:
        channel = self._resolve(channel)
        member_of = self.member_of
        if channel[:1] in ("C", "G") and member_of is not None and channel not in member_of:
            raise SlackError("not_in_channel")
        return channel

    def _next_ts(self) -> str:
        return f"{self._epoch}.{next(self._ts):06d}"

    def _auth_test(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "bot",
            "team_id": self.team,
            "user_id": self.bot_user,
            "bot_id": "B0BOT",
        }

    def _chat_postMessage(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        channel = self._writable(str(body.get("channel", "")))
        check_post(body, channel, self.files)
        message = Message(
            channel,
            self._next_ts(),
            str(body.get("text") or ""),
            list(body.get("blocks") or []),
            body.get("thread_ts"),
            body.get("metadata"),
            dict(body),
            now,
        )
        self.messages.setdefault(channel, []).append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": {"text": message.text, "ts": message.ts},
        }

    def _chat_update(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        message = self.find(f"{self._resolve(str(body.get('channel', '')))}:{body.get('ts')}")
        if message is None:
            raise SlackError("message_not_found")
        message.text = str(body.get("text") or message.text)
        message.blocks = list(body.get("blocks") or message.blocks)
        message.metadata = body.get("metadata") or message.metadata
        message.updates += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _chat_postEphemeral(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        channel = self._writable(str(body.get("channel", "")))
        if not body.get("user"):
            raise SlackError("user_not_found")
        self.ephemerals.append(
            Ephemeral(
                channel,
                str(body["user"]),
                str(body.get("text") or ""),
                list(body.get("blocks") or []),
                body.get("thread_ts"),
            )
        )
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_open(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        users = str(body.get("users") or "")
        if not users or "," in users:
            raise SlackError("users_not_found" if not users else "not_implemented")
        return {"ok": True, "channel": {"id": dm_of(users)}}

    def _conversations_history(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        channel = self._resolve(str(body.get("channel", "")))
        inclusive = str(body.get("inclusive", "")).lower() in ("1", "true")
        latest, oldest = float(body.get("latest") or "inf"), float(body.get("oldest") or 0)
        found = []
        for m in reversed(self.channel(channel)):
            if m.thread_ts not in (None, m.ts):
                continue
            ts = float(m.ts)
            inside = oldest <= ts <= latest if inclusive else oldest < ts < latest
            if inside:
                item: dict[str, Any] = {
                    "type": "message",
                    "ts": m.ts,
                    "text": m.text,
                    "blocks": m.blocks,
                    "bot_id": "B0BOT",
                }
                if m.metadata and str(body.get("include_all_metadata", "")) in ("1", "true"):
                    item["metadata"] = m.metadata
                found.append(item)
        return {"ok": True, "messages": found[: int(body.get("limit") or 100)]}

    def _conversations_replies(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        channel, root = self._resolve(str(body.get("channel", ""))), str(body.get("ts", ""))
        metadata = str(body.get("include_all_metadata", "")) in ("1", "true")
        thread = [m for m in self.channel(channel) if root in (m.ts, m.thread_ts)]
        if not thread:
            raise SlackError("thread_not_found")
        found = [
            {"type": "message", "ts": m.ts, "thread_ts": root, "text": m.text}
            | ({"metadata": m.metadata} if metadata and m.metadata else {})
            for m in thread
        ]
        return {"ok": True, "messages": found[: int(body.get("limit") or 100)]}

    def _views_open(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        if not body.get("trigger_id"):
            raise SlackError("invalid_trigger_id")
        self.views.append(dict(body["view"]))
        return {"ok": True, "view": {"id": f"V{next(self._ids):08d}"}}

    def _views_publish(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self.homes[str(body.get("user_id"))] = dict(body["view"])
        return {"ok": True, "view": {"id": f"V{next(self._ids):08d}"}}
