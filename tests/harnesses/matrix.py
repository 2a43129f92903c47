"""The Matrix adapter's harness: a real Synapse, the bot's adapter, members as real nio clients.

One Synapse serves the whole pytest session (users registered once); each harness gets a fresh
bot database, the bot's adapter on the shared bot account and device, and one syncing nio
client per member. ``runtime.advance`` returns once every message the bot sent is visible to
the members it went to, so tests can read ``inbox`` right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix import translate
from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import BotClient, client_config
from adapters.matrix.port import MatrixPort
from bot.clock import ManualClock
from bot.delivery import RetryPolicy
from bot.runtime import Runtime
from tests.harness import ALLIANCE, Received
from tests.matrixmember import (
    BOT,
    PICKLE,
    WAIT,
    MemberClient,
    Session,
    member_ids,
    shared_session,
)


class MatrixRuntime(Runtime):
    """A Runtime whose settle() also waits until members can see what the bot sent."""

    harness: MatrixHarness

    async def start(self) -> None:
        await super().start()
        await self.harness.adapter.start(self)
        await asyncio.wait_for(self.harness.adapter.ready.wait(), WAIT)

    async def settle(self) -> None:
        await super().settle()
        await self.harness.visible()

    async def stop(self) -> None:
        await self.harness.adapter.stop_receiving()
        await super().stop()
        await self.harness.adapter.close()


class MatrixHarness:
    name = "matrix"

    def __init__(
        self,
        session: Session,
        tmp_path: Path,
        url: str,
        start: datetime,
        alliance: str = ALLIANCE,
        *,
        adapter_options: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.url = url
        self.clock = ManualClock(start)
        self.tmp_path = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.file = tmp_path / "alliance.yaml"
        self.file.write_text(alliance, encoding="utf-8")
        self.bot = session.account(BOT)
        self.members: dict[str, MemberClient] = {
            member: MemberClient(session, user_id[1:].split(":")[0], self.bot.user_id)
            for member, user_id in member_ids(alliance).items()
        }
        self.adapter_options = adapter_options or {}
        self.pending: list[tuple[str, str]] = []
        self.adapter = self.new_adapter()
        self.runtime = self.new_runtime()

    def new_adapter(self) -> MatrixAdapter:
        """The bot's adapter on the shared bot account, device and crypto store."""
        options = {"sync_timeout_ms": 10_000, "max_backoff": 1.0, **self.adapter_options}
        client = BotClient(
            self.session.server.url,
            self.bot.user_id,
            device_id=self.bot.device_id,
            store_path=self.session.store(BOT),
            config=client_config(PICKLE),
        )
        port = MatrixPort(client, self.clock, join_timeout=WAIT)
        port.observers.append(lambda room, event, content: self.pending.append((room, event)))
        self.adapter = MatrixAdapter(
            client,
            port,
            access_token=self.bot.access_token,
            device_id=self.bot.device_id,
            **options,
        )
        return self.adapter

    def new_runtime(self) -> MatrixRuntime:
        runtime = MatrixRuntime(
            self.url,
            self.clock,
            {"matrix": self.adapter.port},
            alliance_file=self.file,
            real_time=False,
            retry=RetryPolicy(max_attempts=6, base_seconds=60),
        )
        runtime.harness = self
        self.runtime = runtime
        return runtime

    @classmethod
    async def create(
        cls,
        request: pytest.FixtureRequest,
        tmp_path: Path,
        url: str,
        start: datetime,
        alliance: str = ALLIANCE,
    ) -> MatrixHarness:
        session = await asyncio.to_thread(shared_session, request)
        harness = cls(session, tmp_path, url, start, alliance)
        await harness.start_members()
        return harness

    async def start_members(self) -> None:
        await asyncio.gather(*(member.start() for member in self.members.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(member.stop() for member in self.members.values()))

    async def visible(self) -> None:
        """Wait until every event the bot sent is seen by the members in its room."""
        pending, self.pending = self.pending, []
        for room_id, event_id in pending:
            for member in self.members.values():
                room = member.client.rooms.get(room_id)
                if room is not None and member.user_id in room.users:
                    seen = member.seen
                    await member.wait(lambda: event_id in seen, f"see {event_id}")  # noqa: B023

    async def run_until(self, moment: datetime, step: timedelta = timedelta(hours=1)) -> None:
        while self.clock.now() + step <= moment:
            await self.runtime.advance(self.clock.now() + step)
        await self.runtime.advance(moment)

    def inbox(self, member: str) -> list[Received]:
        found = []
        for event_id, _room, content in self.members[member].from_bot():
            kind = str(content.get(translate.KIND_KEY, ""))
            if not kind or kind == "reply":
                continue
            options = content.get(translate.CHOICES_KEY) or []
            labels = tuple(str(option.get("label", "")) for option in options)
            found.append(Received(event_id, str(content.get("body", "")), labels, kind))
        return found

    def located(self, member: str, ref: str) -> tuple[str, dict[str, Any]]:
        room_id, source = self.members[member].seen[ref]
        return room_id, source.get("content", {})

    async def replies_to(self, member: str, event_id: str) -> list[str]:
        """The bodies of the bot's replies to ``event_id``, once the member can read them."""
        adapter = self.adapter
        async with adapter.replied_changed:
            try:
                await asyncio.wait_for(
                    adapter.replied_changed.wait_for(lambda: event_id in adapter.handled), WAIT
                )
            except TimeoutError:
                raise AssertionError(f"the bot did not handle {event_id}") from None
        assert await self.runtime.replies_sent(adapter.handled[event_id], WAIT)
        posted = adapter.replied.get(event_id, [])
        client = self.members[member]
        await client.wait(lambda: all(p in client.seen for p in posted), "see the replies")
        return [str(client.seen[p][1].get("content", {}).get("body", "")) for p in posted]

    async def say(
        self, member: str, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> list[str]:
        """Send an event as ``member``; the texts of the bot's replies to it."""
        event_id = await self.members[member].send(room_id, content, kind)
        return await self.replies_to(member, event_id)

    async def reply(self, member: str, ref: str, text: str) -> list[str]:
        """A thread reply, as Element sends one (in the root's thread, replying to ``ref``)."""
        room_id, content = self.located(member, ref)
        relates = content.get("m.relates_to") or {}
        root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else ref
        body = {
            "msgtype": "m.text",
            "body": text,
            "m.relates_to": translate.relation(root, None if root == ref else ref),
        }
        return await self.say(member, room_id, body)

    async def pick(self, member: str, ref: str, choice: str) -> list[str]:
        """React with the option's emoji, as a member would in Element; else reply with it."""
        room_id, content = self.located(member, ref)
        for option in content.get(translate.CHOICES_KEY) or []:
            if choice in (str(option.get("number")), option.get("key"), option.get("label")):
                reaction = translate.reaction_content(ref, str(option["emoji"]))
                return await self.say(member, room_id, reaction, "m.reaction")
        return await self.reply(member, ref, choice)

    async def dm(self, member: str, text: str) -> list[str]:
        room_id = await self.members[member].open_dm()
        return await self.say(member, room_id, {"msgtype": "m.text", "body": text})

    async def command(self, member: str, name: str, args: str = "") -> list[str]:
        room_id = await self.members[member].open_dm()
        body = {"msgtype": "m.text", "body": f"!{name} {args}".strip()}
        return await self.say(member, room_id, body)


HARNESS = MatrixHarness


HarnessMaker = Callable[..., Awaitable[MatrixHarness]]


@contextlib.asynccontextmanager
async def harness_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[HarnessMaker]:
    """For Matrix-only tests: ``await make(start, alliance, kind=..., **adapter_options)``
    builds and starts a harness, stopped when the block ends; ``kind="default-limits"`` uses a
    Synapse with its default rate limits."""
    made: list[MatrixHarness] = []

    async def make(
        start: datetime, alliance: str = ALLIANCE, *, kind: str = "relaxed", **options: Any
    ) -> MatrixHarness:
        session = await asyncio.to_thread(shared_session, request, kind)
        folder = tmp_path / f"harness{len(made)}"
        url = f"sqlite+aiosqlite:///{folder / 'bot.db'}"
        harness = MatrixHarness(session, folder, url, start, alliance, adapter_options=options)
        await harness.start_members()
        made.append(harness)
        await harness.runtime.start()
        return harness

    try:
        yield make
    finally:
        for harness in reversed(made):
            if harness.runtime.started:
                await harness.runtime.stop()
            await harness.stop()
