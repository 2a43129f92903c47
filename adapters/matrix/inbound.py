"""What a sync means for the core: invitations accepted or declined, each room's new events
handed over in order, and the events a sync left out read back with ``/messages``.

Only the worker holding the sync lease hands events over (see adapter.py); every worker notes
the invitations it sees, so the one that takes over can answer those still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from nio import InviteMemberEvent, JoinError, MegolmEvent, RoomMessagesResponse, SyncResponse
from nio.exceptions import LocalProtocolError

from adapters.matrix import translate
from adapters.matrix.client import TRANSPORT_ERRORS, BotClient, RequestFailed
from adapters.matrix.port import MatrixPort
from bot.edge import Core
from bot.events import ChoicePicked, InboundEvent

log = logging.getLogger(__name__)
DECLINE = (
    "Sorry, I only join rooms when a member of the alliance invites me. If you should be one, "
    "ask your alliance's backbone team to add your Matrix account to the alliance file."
)
READ_BACK_CONCURRENCY = 8
"""Rooms read back at once when a worker takes over the sync."""


class Inbound:
    def __init__(self, client: BotClient, port: MatrixPort) -> None:
        self.client = client
        self.port = port
        self.runtime: Core | None = None
        self.handled: OrderedDict[str, InboundEvent] = OrderedDict()
        """The latest events handed to the core (tests wait on ``replied_changed`` for them)."""
        self.invites: dict[str, list[Any]] = {}
        """Room id -> invite state, for the invitations seen and still open."""
        self._pending_joins: dict[str, str] = {}
        """Invitations accepted whose join failed: room id -> inviter (tried after each sync)."""

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def note(self, response: SyncResponse) -> None:
        """Every worker, every sync: remember open invitations, forget answered ones."""
        for room_id, info in response.rooms.invite.items():
            self.invites[room_id] = list(info.invite_state)
        for room_id in (*response.rooms.join, *response.rooms.leave):
            self.invites.pop(room_id, None)

    async def handle(
        self, response: SyncResponse, *, since: str | None, history: bool, every_invite: bool
    ) -> None:
        """Invitations (this sync's, or ``every_invite`` open one), then every room's new
        events in order. ``history``: the timelines are the past, not work to do (the very
        first sync of this database, or a takeover, which reads the gap back instead).
        ``since``: the token this sync started from, where limited timelines are read back to."""
        fresh = self.invites if every_invite else response.rooms.invite
        for room_id in [r for r in fresh if r in self.invites]:
            await self._on_invite(room_id, self.invites[room_id])
        for room_id, inviter in list(self._pending_joins.items()):
            if room_id not in response.rooms.invite:
                await self._accept(room_id, inviter, is_direct=False)
        if history:
            return
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch and since:
                gap = await self.read_back(room_id, info.timeline.prev_batch, since)
                if gap:
                    log.info("Matrix: read back %d events a sync left out in %s", len(gap), room_id)
                events = gap + events
            for event in events:
                await self._on_event(room_id, event)

    async def catch_up(self, start: str, end: str) -> int:
        """Hand over every joined room's events between ``end`` (where the last holder of the
        sync stopped) and ``start`` (where this worker's sync is); how many were read."""
        rooms = list(self.client.rooms)
        limit = asyncio.Semaphore(READ_BACK_CONCURRENCY)

        async def one(room_id: str) -> list[Any]:
            async with limit:
                return await self.read_back(room_id, start, end)

        found = await asyncio.gather(*(one(room_id) for room_id in rooms))
        for room_id, events in zip(rooms, found, strict=True):
            for event in events:
                await self._on_event(room_id, event)
        return sum(len(events) for events in found)

    async def read_back(self, room_id: str, start: str, end: str) -> list[Any]:
        """A room's events from ``start`` back to ``end``, oldest first."""
        found: list[Any] = []
        for _ in range(50):
            response = await self.client.room_messages(room_id, start=start, end=end, limit=100)
            if not isinstance(response, RoomMessagesResponse):
                log.warning("could not fill a gap in %s: %s", room_id, response)
                break
            found.extend(response.chunk)
            if not response.chunk or not response.end or response.end == start:
                break
            start = response.end
        return list(reversed(found))

    async def _on_invite(self, room_id: str, events: list[Any]) -> None:
        assert self.runtime is not None
        stripped = [
            {
                "type": "m.room.member",
                "sender": e.sender,
                "state_key": e.state_key,
                "content": e.content,
            }
            for e in events
            if isinstance(e, InviteMemberEvent)
        ]
        found = translate.invite_of(stripped, self.user_id)
        if found is None:
            return
        inviter, is_direct = found
        if await self.runtime.directory.display_name(translate.PLATFORM, inviter) is None:
            log.info("declining %s's invitation to %s: not a member", inviter, room_id)
            with contextlib.suppress(Exception):
                await self.client.decline(room_id, DECLINE)
            return
        await self._accept(room_id, inviter, is_direct)

    async def _accept(self, room_id: str, inviter: str, is_direct: bool) -> None:
        response = await self.client.join(room_id)
        if isinstance(response, JoinError):
            log.warning("could not join %s (%s); will try again", room_id, response.message)
            self._pending_joins[room_id] = inviter
            return
        self._pending_joins.pop(room_id, None)
        if is_direct:
            await self.port.remember_direct(inviter, room_id)

    async def _on_event(self, room_id: str, event: Any) -> None:
        assert self.runtime is not None
        source = getattr(event, "source", None)
        if not isinstance(source, dict):
            return
        if isinstance(event, MegolmEvent):  # nio's own warning is quieted (adapter.py)
            log.info("could not decrypt %s from %s in %s", event.event_id, event.sender, room_id)
            source = {**source, "type": "m.room.encrypted"}
        is_direct = self.port.is_direct(room_id)
        inbound = translate.inbound(
            source, room_id=room_id, own_user_id=self.user_id, is_direct=is_direct
        )
        if inbound is None:
            return
        if isinstance(inbound, ChoicePicked) and not await self.is_prompt(
            room_id, inbound.message_ref
        ):
            return  # a keycap on some other message is not an answer: no reply either
        # Its effect and its replies are durable when this returns (the outbox sends the
        # replies), so the sync position saved after the batch never skips an answer.
        await self.runtime.handle(inbound)
        await self._handled(inbound)

    async def _handled(self, inbound: InboundEvent) -> None:
        async with self.port.replied_changed:
            self.handled[inbound.event_id] = inbound
            while len(self.handled) > 5000:
                self.handled.popitem(last=False)
            self.port.replied_changed.notify_all()

    async def is_prompt(self, room_id: str, event_id: str) -> bool:
        """Whether the bot posted ``event_id`` as a prompt or a reminder: known for what this
        worker posted lately, else read from the homeserver (the sender, and the content when
        it can be read). When that cannot be told, True: the core decides."""
        kind = self.port.kinds.get(event_id)
        if kind is not None:
            return kind in ("prompt", "reminder")
        path = f"/rooms/{quote(room_id, safe='')}/event/{quote(event_id, safe='')}"
        try:
            source = await self.client.raw("GET", path)
        except RequestFailed as exc:
            return exc.status >= 500 or exc.status == 429
        except (*TRANSPORT_ERRORS, LocalProtocolError):
            return True
        if source.get("sender") != self.user_id:
            return False
        content = self._readable(room_id, source)
        return content is None or content.get(translate.KIND_KEY) in ("prompt", "reminder")

    def _readable(self, room_id: str, source: dict[str, Any]) -> Mapping[str, Any] | None:
        """An event's content, decrypted when it is encrypted; None when it cannot be read."""
        if source.get("type") != "m.room.encrypted":
            content = source.get("content")
            return content if isinstance(content, Mapping) else None
        try:
            event = MegolmEvent.from_dict(source)
            event.room_id = room_id
            decrypted = self.client.decrypt_event(event)
        except Exception:  # no key for it on this device: it cannot be told from here
            log.debug("could not decrypt %s", source.get("event_id"), exc_info=True)
            return None
        content = getattr(decrypted, "source", {}).get("content")
        return content if isinstance(content, Mapping) else None
