"""The pieces of the fake Slack Web API (tests/fakeslack.py): its rate limits, what it
records of each call, the messages it keeps, and how it reads a call's arguments."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Limits:
    """Rates the fake enforces; 0 means no limit. ``jitter`` is how early (seconds) a request
    may arrive and still pass, as real networks reorder a little."""

    channel_per_second: float = 0.0
    channel_burst: int = 1
    workspace_per_minute: float = 0.0
    workspace_burst: int = 1
    jitter: float = 0.02


class Bucket:
    """GCRA conformance: ``wait()`` says how early a request is; ``take()`` books it."""

    def __init__(self, per_second: float, burst: int, jitter: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.tolerance = max(burst - 1, 0) * self.interval + (jitter if per_second > 0 else 0)
        self.tat = 0.0

    def wait(self, now: float) -> float:
        return max(0.0, self.tat - self.tolerance - now) if self.interval else 0.0

    def take(self, now: float) -> None:
        if self.interval:
            self.tat = max(self.tat, now) + self.interval


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    status: int
    at: float
    """time.monotonic() when it arrived."""
    ok: bool = False


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    metadata: dict[str, Any] | None
    posted: dict[str, Any]
    """The body as first posted (chat.update changes the fields above, not this)."""
    at: float
    updates: int = 0

    @property
    def ref(self) -> str:
        return f"{self.channel}:{self.ts}"


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None


@dataclass
class Hold:
    """One call the fake keeps unanswered until ``release()`` (see ``FakeSlack.hold``)."""

    method: str
    match: Callable[[dict[str, Any]], bool]
    effect: bool
    """True: the call takes effect before it hangs (Slack posted; its answer never came back).
    False: it never takes effect (the request died on the way)."""
    body: dict[str, Any] | None = None
    """The body of the call that was held, once one arrived."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def check_post(body: dict[str, Any], channel: str, files: dict[str, dict[str, Any]]) -> None:
    """What Slack refuses in a chat.postMessage: no text at all, or an image block naming a
    file it does not have or that was not shared in ``channel``."""
    if not body.get("text") and not body.get("blocks"):
        raise SlackError("no_text")
    for block in body.get("blocks") or []:
        shown = block.get("slack_file") if block.get("type") == "image" else None
        if shown is not None and (files.get(str(shown.get("id"))) or {}).get("channel") != channel:
            raise SlackError("invalid_blocks")


def dm_of(user: str) -> str:
    """The bot's DM channel with ``user`` (U0BERTA -> D0BERTA)."""
    return "D" + user[1:]


async def read_body(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments: query, JSON or form (whose JSON fields come as strings)."""
    body: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body.update(await request.json())
    elif request.can_read_body:
        body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in ("blocks", "metadata", "view", "files"):
        if isinstance(body.get(key), str):
            with contextlib.suppress(ValueError):
                body[key] = json.loads(body[key])
    return body
