"""The Matrix adapter's harness: a real Synapse, the bot's adapter, members as real nio clients.

One Synapse serves the whole pytest session (users registered once); each harness gets a fresh
bot database, the bot's adapter on the shared bot account and device, and one syncing nio
client per member. ``runtime.advance`` returns once every message the bot sent is visible to
the members it went to, so tests can read ``inbox`` right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import InviteMemberEvent, MegolmEvent, RoomPreset, RoomSendResponse, SyncResponse

from adapters.matrix import translate
from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import BotClient, client_config
from adapters.matrix.port import ENCRYPTION, TRANSPORT_ERRORS, MatrixPort
from bot.clock import ManualClock
from bot.delivery import RetryPolicy
from bot.runtime import Runtime
from tests.harness import ALLIANCE, Received
from tests.synapse import Account, SynapseServer

BOT = "alliancebot"
STRANGER = "stranger"
PICKLE = "test-pickle-key-not-the-default"
WAIT = 30.0
_SESSIONS: dict[tuple[int, str], Session] = {}


@dataclass
class Session:
    """A Synapse for the pytest session, its accounts, and where their crypto stores live."""

    server: SynapseServer
    root: Path
    tokens: dict[str, str] = field(default_factory=dict)
    """Each member client's last sync token, so the next harness resumes where it stopped."""

    def account(self, localpart: str) -> Account:
        return self.server.register(localpart, admin=localpart == BOT)

    def store(self, localpart: str) -> Path:
        return self.root / "stores" / localpart


def shared_session(request: pytest.FixtureRequest, kind: str = "relaxed") -> Session:
    """The session's Synapse (started on first use, stopped when pytest ends)."""
    key = (id(request.config), kind)
    if key not in _SESSIONS:
        root = Path(tempfile.mkdtemp(prefix=f"alliance-bot-synapse-{kind}-"))
        server = SynapseServer(root / "synapse", default_limits=kind == "default-limits")
        server.start()
        session = Session(server, root)
        _SESSIONS[key] = session

        def cleanup() -> None:
            server.stop()
            _SESSIONS.pop(key, None)
            shutil.rmtree(root, ignore_errors=True)

        request.config.add_cleanup(cleanup)
    return _SESSIONS[key]


def member_ids(alliance: str) -> dict[str, str]:
    """Member id -> Matrix user id, from the alliance text."""
    return dict(re.findall(r'id: ([a-z0-9-]+),[^\n]*?matrix: "(@[^"]+)"', alliance))


class MemberClient:
    """A member on a real nio client: syncs, joins the bot's invitations, records what arrives."""

    def __init__(self, session: Session, localpart: str, bot_id: str) -> None:
        self.session = session
        self.account = session.account(localpart)
        self.bot_id = bot_id
        self.client = BotClient(
            session.server.url,
            self.account.user_id,
            device_id=self.account.device_id,
            store_path=session.store(localpart),
            config=client_config(PICKLE, max_limit_exceeded=None, max_timeouts=None),
        )
        self.seen: dict[str, tuple[str, dict[str, Any]]] = {}
        """Event id -> (room id, JSON as this member could read it) since the harness began."""
        self.undecryptable: list[str] = []
        self.accept_invites = True
        """Join the bot's invitations as they come (a member who has not yet: False)."""
        self.changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> None:
        self.client.restore_login(self.user_id, self.account.device_id, self.account.access_token)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        since = self.session.tokens.get(self.user_id)
        first = await self.client.sync(timeout=0, since=since, full_state=True)
        assert isinstance(first, SyncResponse), first
        await self._after(first, record=False)
        self._task = asyncio.create_task(self._loop(), name=f"member:{self.user_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.client.next_batch:
            self.session.tokens[self.user_id] = self.client.next_batch
        await self.client.close()

    async def _loop(self) -> None:
        while True:
            try:
                response = await self.client.sync(timeout=10_000, since=self.client.next_batch)
            except TRANSPORT_ERRORS:
                await asyncio.sleep(0.2)
                continue
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            await self._after(response, record=True)

    async def _after(self, response: SyncResponse, *, record: bool) -> None:
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, MegolmEvent):
                    self.undecryptable.append(event.event_id)
                if record and isinstance(getattr(event, "source", None), dict):
                    source = dict(event.source)
                    if isinstance(event, MegolmEvent):
                        source["type"] = "m.room.encrypted"
                    self.seen[event.event_id] = (room_id, source)
        for room_id, info in response.rooms.invite.items():
            for event in info.invite_state:
                if not self.accept_invites:
                    break
                if isinstance(event, InviteMemberEvent) and event.sender == self.bot_id:
                    await self.client.join(room_id)
        await self.client.send_to_device_messages()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        async with self.changed:
            self.changed.notify_all()

    async def wait(self, predicate: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(predicate), seconds)
            except TimeoutError:
                task = self._task
                state = (
                    "running" if task and not task.done() else f"ended: {task and task.exception()}"
                )
                raise AssertionError(
                    f"{self.user_id}: {what} within {seconds:.0f} s (sync loop {state})"
                ) from None

    def from_bot(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(event id, room id, content) of the bot's messages, in order of arrival."""
        return [
            (event_id, room_id, source.get("content", {}))
            for event_id, (room_id, source) in self.seen.items()
            if source.get("sender") == self.bot_id and source.get("type") == "m.room.message"
        ]

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        response = await self.client.room_send(
            room_id, kind, content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    def dm_with_bot(self) -> str | None:
        for room_id, room in self.client.rooms.items():
            joined = set(room.users) - set(room.invited_users)
            if joined == {self.user_id, self.bot_id}:
                return str(room_id)
        return None

    async def open_dm(self) -> str:
        """The direct chat with the bot, created (encrypted, as Element does) when missing."""
        existing = self.dm_with_bot()
        if existing:
            return existing
        response = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[self.bot_id],
            initial_state=[ENCRYPTION],
        )
        room_id = str(response.room_id)

        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and self.bot_id in set(room.users) - set(room.invited_users)

        await self.wait(joined, "the bot joined the direct chat")
        return room_id


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
                    adapter.replied_changed.wait_for(lambda: event_id in adapter.replied), WAIT
                )
            except TimeoutError:
                raise AssertionError(f"the bot did not handle {event_id}") from None
        posted = adapter.replied[event_id]
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
