"""The Slack adapter's harness: signed HTTP requests into the real bolt app, a fake Web API out.

Members act the way Slack would report it: a thread reply is an Events API ``message`` callback,
a button a ``block_actions`` payload, a slash command its form body; each is signed with the
signing secret (and a real timestamp: bolt compares it with the real clock, not the ManualClock).
What members see is what the fake Web API recorded in their DM.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.adapter import SlackAdapter
from adapters.slack.blocks import METADATA_EVENT, escape
from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from adapters.slack.translate import ACTION_CHOICE, ACTION_SELECT, unescape
from bot.clock import ManualClock
from bot.delivery import RetryPolicy
from bot.runtime import Runtime
from tests.fakeslack import BOT_USER, TEAM, TOKEN, FakeSlack
from tests.fakeslack_parts import Message, dm_of
from tests.harness import ALLIANCE, Received, slack_id

SECRET = "test-signing-secret"
CHANNEL = "C0GENERAL"
_ids = itertools.count(1)


def user_of(member: str) -> str:
    return slack_id(member).split(":")[1]


def signed(body: str, secret: str = SECRET, timestamp: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if timestamp is None else timestamp))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def message_event(
    user: str,
    channel: str,
    text: str,
    *,
    thread_ts: str | None = None,
    team: str = TEAM,
    ts: str | None = None,
) -> dict[str, Any]:
    """An Events API callback for a message a person typed (Slack escapes & < > in it)."""
    n = next(_ids)
    ts = ts or f"{int(time.time())}.{900000 + n % 100000:06d}"
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": escape(text),
        "ts": ts,
        "team": team,
        "event_ts": ts,
        "channel_type": "im" if channel.startswith("D") else "channel",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{n:010d}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }


def command_form(
    user: str, command: str, text: str = "", *, channel: str = CHANNEL, team: str = TEAM
) -> dict[str, str]:
    n = next(_ids)
    return {
        "token": "legacy",
        "team_id": team,
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0APP",
        "response_url": "https://hooks.slack.invalid/commands/1",
        "trigger_id": f"{n}.trigger",
    }


def block_action(
    user: str, message: Message, action: dict[str, Any], *, team: str = TEAM
) -> dict[str, Any]:
    n = next(_ids)
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "team_id": team, "username": user.lower()},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": f"{n}.trigger",
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
        "channel": {"id": message.channel, "name": "directmessage"},
        "message": {
            "type": "message",
            "ts": message.ts,
            "text": message.posted.get("text"),
            "blocks": message.posted.get("blocks", []),
            **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
        },
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }


def view_submission(
    user: str, view: dict[str, Any], value: str, *, team: str = TEAM, view_id: str = ""
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": f"{next(_ids)}.trigger",
        "view": {
            **view,
            "id": view_id or f"V{next(_ids):08d}",
            "team_id": team,
            "state": {
                "values": {"answer": {"value": {"type": "plain_text_input", "value": value}}}
            },
        },
    }


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Background work the test cannot await (the core's mark-answered tasks) has happened."""
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("it did not happen in time")


class SlackClient:
    """Posts signed requests at the adapter the way Slack does."""

    def __init__(self, url: str, session: aiohttp.ClientSession, secret: str = SECRET) -> None:
        self.url = url
        self.session = session
        self.secret = secret

    async def raw(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        sent = {"Content-Type": content_type, **(headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            return response.status, await response.text()

    async def event(self, body: dict[str, Any], **extra: str) -> tuple[int, str]:
        text = json.dumps(body)
        return await self.raw(text, "application/json", {**signed(text, self.secret), **extra})

    async def form(self, fields: dict[str, str]) -> tuple[int, str]:
        text = urlencode(fields)
        return await self.raw(text, "application/x-www-form-urlencoded", signed(text, self.secret))

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.form({"payload": json.dumps(payload)})


def outbox_kind(message: Message) -> str | None:
    """The kind (prompt, reminder, digest) the adapter put in an outbox message's metadata."""
    meta = message.posted.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT:
        return None
    return str(meta.get("event_payload", {}).get("kind", "message"))


def choice_actions(message: Message) -> list[dict[str, Any]]:
    found = []
    for block in message.posted.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id", "").startswith(ACTION_CHOICE + "_"):
                found.append({**element, "block_id": block.get("block_id")})
            elif element.get("action_id") == ACTION_SELECT:
                found += [
                    {
                        "type": "static_select",
                        "action_id": ACTION_SELECT,
                        "block_id": block.get("block_id"),
                        "selected_option": o,
                        "text": o["text"],
                    }
                    for o in element["options"]
                ]
    return found


class SlackHarness:
    name = "slack"

    def __init__(
        self,
        fake: FakeSlack,
        adapter: SlackAdapter,
        runtime: Runtime,
        clock: ManualClock,
        session: aiohttp.ClientSession,
    ) -> None:
        self.fake = fake
        self.adapter = adapter
        self.runtime = runtime
        self.clock = clock
        self.session = session
        self.slack = SlackClient(adapter.url, session)

    @classmethod
    async def create(
        cls,
        request: pytest.FixtureRequest,
        tmp_path: Path,
        url: str,
        start: datetime,
        alliance: str = ALLIANCE,
        fake: FakeSlack | None = None,
        pacing: Pacing | None = None,
    ) -> SlackHarness:
        fake = fake or FakeSlack()
        await fake.start()
        clock = ManualClock(start)
        file = tmp_path / "alliance.yaml"
        await asyncio.to_thread(file.write_text, alliance, encoding="utf-8")
        port = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=pacing or Pacing.unlimited())
        adapter = SlackAdapter(port, signing_secret=SECRET, host="127.0.0.1", http_port=0)
        runtime = Runtime(
            url,
            clock,
            {"slack": port},
            alliance_file=file,
            real_time=False,
            retry=RetryPolicy(max_attempts=4, base_seconds=60),
        )
        await adapter.start(runtime)  # touches no database: safe before the runtime starts
        return cls(fake, adapter, runtime, clock, aiohttp.ClientSession())

    async def stop(self) -> None:
        await self.adapter.stop()
        await self.session.close()
        await self.fake.stop()

    async def run_until(self, moment: datetime, step: timedelta = timedelta(hours=1)) -> None:
        while self.clock.now() + step <= moment:
            await self.runtime.advance(self.clock.now() + step)
        await self.runtime.advance(moment)

    def inbox(self, member: str) -> list[Received]:
        found = []
        for message in self.fake.channel(dm_of(user_of(member))):
            kind = outbox_kind(message)
            if kind is not None:
                labels = tuple(unescape(a["text"]["text"]) for a in choice_actions(message))
                text = unescape(str(message.posted.get("text", "")))
                found.append(Received(message.ref, text, labels, kind))
        return found

    async def replies_to(self, status_and_body: Any) -> list[str]:
        """Wait for the work the request started; the texts the bot posted meanwhile."""
        before, answered = len(self.fake.calls), len(self.fake.responses.posted)
        status, body = await status_and_body
        assert status == 200, (status, body)
        await self.adapter.idle()
        assert await self.runtime.replies_sent(), "the replies were not sent"
        texts = [body] if body else []  # a refusal or an error comes back in the response
        for call in list(self.fake.calls)[before:]:
            meta = call.body.get("metadata") or {}
            posted = call.method in ("chat.postMessage", "chat.postEphemeral") and call.ok
            if posted and meta.get("event_type") != METADATA_EVENT:
                texts.append(unescape(str(call.body.get("text", ""))))
        texts += [unescape(r.text) for r in self.fake.responses.posted[answered:]]  # response_url
        return texts

    async def dm(self, member: str, text: str) -> list[str]:
        user = user_of(member)
        return await self.replies_to(self.slack.event(message_event(user, dm_of(user), text)))

    async def reply(self, member: str, ref: str, text: str) -> list[str]:
        message = self.fake.find(ref)
        assert message is not None, f"no message {ref}"
        root = message.thread_ts or message.ts
        event = message_event(user_of(member), message.channel, text, thread_ts=root)
        return await self.replies_to(self.slack.event(event))

    async def pick(self, member: str, ref: str, choice: str) -> list[str]:
        message = self.fake.find(ref)
        assert message is not None, f"no message {ref}"
        actions = choice_actions(message)
        wanted = choice.strip().lower()
        action = next(
            (
                a
                for i, a in enumerate(actions, 1)
                if wanted in (str(i), str(a.get("value", "")).lower(), a["text"]["text"].lower())
            ),
            None,
        )
        if action is None:  # no such button: what a crafted payload would carry
            action = {
                "type": "button",
                "action_id": f"{ACTION_CHOICE}_1",
                "value": choice,
                "block_id": "prompt:0",
                "text": {"type": "plain_text", "text": choice},
            }
        payload = block_action(user_of(member), message, action)
        return await self.replies_to(self.slack.interaction(payload))

    async def command(self, member: str, name: str, args: str = "") -> list[str]:
        form = command_form(user_of(member), f"/{name}", args)
        form["response_url"] = self.fake.responses.url()  # as Slack gives: replies go there
        return await self.replies_to(self.slack.form(form))


HARNESS = SlackHarness
