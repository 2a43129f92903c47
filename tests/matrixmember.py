"""Members of the Matrix tests: the session's Synapse and its accounts, and a member as a
real matrix-nio client that syncs, joins the bot's invitations and records what arrives."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nio import InviteMemberEvent, MegolmEvent, RoomPreset, RoomSendResponse, SyncResponse

from adapters.matrix.client import TRANSPORT_ERRORS, BotClient, client_config
from adapters.matrix.port import ENCRYPTION
from tests.synapse import Account, SynapseServer

BOT = "alliancebot"
PICKLE = "test-pickle-key-not-the-default"
WAIT = 30.0
RATED = (2.0, 4)
"""``kind="rated"``: every account may send 2 messages a second, after a burst of 4."""
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
    """The session's Synapse (started on first use, stopped when pytest ends): relaxed limits,
    Synapse's own (``default-limits``) or ``RATED`` messages (``rated``)."""
    key = (id(request.config), kind)
    if key not in _SESSIONS:
        root = Path(tempfile.mkdtemp(prefix=f"alliance-bot-synapse-{kind}-"))
        server = SynapseServer(
            root / "synapse",
            default_limits=kind == "default-limits",
            rc_message=RATED if kind == "rated" else None,
        )
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
