"""The Matrix ChatPort: rooms and direct chats, paced sends, errors the outbox understands."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from nio import (
    RoomCreateError,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomSendResponse,
)
from nio.exceptions import LocalProtocolError

from adapters.matrix import polls, translate
from adapters.matrix.client import TRANSPORT_ERRORS, BotClient, RequestFailed
from adapters.matrix.digest_html import with_html
from bot.ports import (
    Attachment,
    Clock,
    Destination,
    DestinationKind,
    Outgoing,
    PlatformError,
    RateLimited,
    Rejected,
    Reply,
    ReplyTo,
    Sent,
    SharedPace,
    Unreachable,
    Waiting,
)

if TYPE_CHECKING:
    from adapters.matrix.placement import Placement

from adapters.matrix.pacing import MemoryPace, Pacer, Rate, retry_after_seconds
from adapters.matrix.uploads import upload_content

log = logging.getLogger(__name__)
REFUSED = {"M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON", "M_INVALID_PARAM", "M_TOO_LARGE"}
"""Errors that will not pass by retrying: the outbox gives up (anything else is retried)."""
ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
SentObserver = Callable[[str, str, dict[str, Any]], None]
DM_RECHECK_SECONDS = 60.0
"""How often a send waiting for a member to accept the bot's direct chat looks again."""
DECLINED_PAUSE = timedelta(hours=20)
LOGIN_WAIT = 2.0
LOGIN_RECHECK_SECONDS = 5.0
"""After a member declines the bot's direct chat, no new invitation before this has passed."""


class MatrixPort:
    """Sends as the bot's account. ``synced`` is notified by the adapter after every sync, so
    sends can wait for a new direct chat's member to join (see :meth:`dm_room`)."""

    platform = translate.PLATFORM

    def __init__(
        self,
        client: BotClient,
        clock: Clock,
        *,
        join_timeout: float = 20.0,
        per_second: float = 0.0,
        burst: int = 5,
        choices: polls.Choices = polls.REACTIONS,
    ) -> None:
        self.client = client
        self.choices = choices
        """How choice prompts are offered: a poll, or a message with keycaps (polls.py)."""
        self.clock = clock
        self.join_timeout = join_timeout
        self.pacer = Pacer()
        self.rate = Rate(MemoryPace(), f"matrix:{client.user}", per_second, burst)
        """The account's rate, shared by every worker once ``share`` is called."""
        self.synced = asyncio.Condition()
        self.direct: dict[str, list[str]] = {}
        """``m.direct``: user id -> the DM rooms with them, newest last."""
        self.aliases: dict[str, str] = {}
        self.observers: list[SentObserver] = []
        self.open = False
        """Logged in, synced once (nio knows the rooms) and not closed: sends may go."""
        self.closed = False
        self.salt = ""
        """Mixed into transaction ids: one per bot database, so a delivery's id never collides
        with another database's delivery of the same key on the same device."""
        self._dm_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._room_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._direct_lock = asyncio.Lock()
        self._opened: dict[str, datetime] = {}
        """When the bot last opened a direct chat with someone (declines pause re-invites)."""
        self.placement: Placement | None = None
        """Where replies go; set by the adapter when it starts."""
        self.replied: OrderedDict[str, list[str]] = OrderedDict()
        """Inbound event id -> the event ids of the replies posted for it (the latest 5000)."""
        self.replied_changed = asyncio.Condition()
        self.kinds: OrderedDict[str, str] = OrderedDict()
        """Event id -> kind (prompt, reminder, reply, ...) of the latest 5000 messages posted."""

    # --- ChatPort ------------------------------------------------------------------------------

    @property
    def paced_seconds(self) -> float:
        """Seconds sends waited for the homeserver's slot, in total (``bot.ports.Paced``)."""
        return self.pacer.waited + self.rate.waited

    def share(self, shared: SharedPace | None) -> None:
        """Book the account's sends with every other worker on the database (PostgreSQL)."""
        if shared is not None:
            self.rate.shared = shared

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        room_id = await self.room_for(to)
        kind, content = polls.event_for(with_html(message), to.thread, self.choices)
        tx_id = translate.transaction_id(message.idempotency_key, f"{self.salt}:{room_id}")
        async with self._room_locks[room_id]:  # one room's messages arrive in the order sent
            event_id = await self.post(room_id, kind, content, tx_id)
            if kind != polls.POLL_START:
                await self._offer(room_id, event_id, content, tx_id)
        return Sent(event_id, thread_ref=to.thread, address=room_id, sent_at=self.clock.now())

    async def _offer(
        self, room_id: str, event_id: str, content: dict[str, Any], tx_id: str | None
    ) -> None:
        """The choices' keycaps as the bot's own reactions on a prompt, for one-tap answers.
        With a transaction id a failure fails the send, whose retry posts nothing twice;
        without one, the prompt stands as it is (its choices can still be typed)."""
        for key in translate.offered_reactions(content):
            reaction = translate.reaction_content(event_id, key)
            try:
                await self.post(
                    room_id, "m.reaction", reaction, tx_id and f"{tx_id}r{ord(key[0]):x}"
                )
            except Rejected as exc:
                log.info("could not offer %s on %s: %s", key, event_id, exc)
                return
            except PlatformError:
                if tx_id:
                    raise
                log.info("could not offer the choices on %s", event_id, exc_info=True)
                return

    async def reply(self, to: ReplyTo, reply: Reply, *, key: str, attempt: int = 0) -> Sent:
        if self.placement is None:
            raise Waiting(5.0, "the Matrix adapter has not started")
        room_id, posted = await self.placement.post(to, with_html(reply), key)
        async with self.replied_changed:
            self.replied[to.event_id] = [*self.replied.pop(to.event_id, []), *posted]
            while len(self.replied) > 5000:
                self.replied.popitem(last=False)
            self.replied_changed.notify_all()
        return Sent(posted[0], address=room_id, sent_at=self.clock.now())

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        room_id = await self.room_for(to)
        content = await self.file_content(room_id, attachment, comment or attachment.title)
        async with self._room_locks[room_id]:
            event_id = await self.post(room_id, "m.room.message", content, None)
        return Sent(event_id, address=room_id, sent_at=self.clock.now())

    async def mark_answered(self, sent: Sent, to: Destination, summary: str) -> None:
        """A ✅ reaction on the prompt; never fails the answer it marks."""
        room_id = sent.address or await self.room_for(to)
        content = translate.reaction_content(sent.message_ref)
        tx_id = translate.transaction_id(sent.message_ref, f"{self.salt}:answered")
        try:
            await self.post(room_id, "m.reaction", content, tx_id)
        except (PlatformError, Rejected) as exc:
            log.info("could not mark %s answered: %s", sent.message_ref, exc)

    # --- sending -------------------------------------------------------------------------------

    async def post(
        self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str | None
    ) -> str:
        """Send one event, paced; the event id, or RateLimited/PlatformError/Rejected."""
        if not self.open and not self.closed:  # starting up: give the login a moment
            await self.wait_for(lambda: self.open or self.closed, LOGIN_WAIT)
        if not self.open:  # not a failed attempt: the outbox looks again shortly
            raise Waiting(LOGIN_RECHECK_SECONDS, "the bot is not logged in to Matrix yet")
        await self.rate.slot()  # the workers' shared schedule, and any worker's hold
        if not self.pacer.limited:
            event_id = await self._attempt(room_id, event_type, content, tx_id)
        else:  # one send at a time, each at the homeserver's next free slot
            queued = time.monotonic()
            async with self.pacer.turn:
                waited = await self.pacer.wait_turn()
                self.pacer.waited += time.monotonic() - queued
                event_id = await self._attempt(room_id, event_type, content, tx_id)
                if event_id is not None and not waited:
                    self.pacer.limited = False
        if event_id is None:  # refused: the outbox's one retry policy decides what next
            wait = self.pacer.not_before - time.monotonic()
            await self.rate.hold(wait)  # every worker waits it out
            raise RateLimited(max(wait, 0.0), f"M_LIMIT_EXCEEDED in {room_id}")
        return event_id

    async def _attempt(
        self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str | None
    ) -> str | None:
        """The event id; None after a 429 (the pacer then knows when to try again)."""
        started = time.monotonic()
        response = await self._send_once(room_id, event_type, content, tx_id)
        if isinstance(response, RoomSendResponse):
            event_id = str(response.event_id)
            log.debug("sent %s %s to %s", event_type, event_id, room_id)
            if event_type in polls.EVENT_TYPES:
                self.kinds[event_id] = str(content.get(translate.KIND_KEY, ""))
                while len(self.kinds) > 5000:
                    self.kinds.popitem(last=False)
            for observer in self.observers:
                observer(room_id, event_id, content)
            return event_id
        code = str(getattr(response, "status_code", "") or "")
        if code == "M_LIMIT_EXCEEDED":
            wait = retry_after_seconds(
                getattr(response, "retry_after_ms", None), _header(response, "Retry-After")
            )
            self.pacer.hold(wait, started)
            log.debug("M_LIMIT_EXCEEDED in %s: next try in %.2f s", room_id, wait)
            return None
        message = f"{code or 'error'}: {getattr(response, 'message', '')} ({room_id})"
        if code in REFUSED:
            raise Rejected(message)
        raise PlatformError(message)

    async def _send_once(
        self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str | None
    ) -> Any:
        try:
            return await self.client.room_send(
                room_id, event_type, content, tx_id=tx_id, ignore_unverified_devices=True
            )
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise Unreachable(f"homeserver unreachable: {exc}") from exc
        except TRANSPORT_ERRORS as exc:
            raise PlatformError(f"{type(exc).__name__}: {exc}") from exc

    async def file_content(
        self, room_id: str, attachment: Attachment, caption: str
    ) -> dict[str, Any]:
        """Upload ``attachment`` (encrypted in an encrypted room); its event content."""
        return await upload_content(self.client, room_id, attachment, caption)

    # --- rooms and direct chats ----------------------------------------------------------------

    async def room_for(self, to: Destination) -> str:
        if to.kind is DestinationKind.PERSON:
            return await self.dm_room(to.target)
        room_id = to.target
        if room_id.startswith("#"):
            room_id = self.aliases.get(to.target) or await self.resolve_alias(to.target)
        if room_id not in self.client.rooms:
            await self._join(room_id)
        return room_id

    async def resolve_alias(self, alias: str) -> str:
        try:
            response = await self.client.room_resolve_alias(alias)
        except TRANSPORT_ERRORS as exc:
            raise PlatformError(f"could not resolve {alias}: {exc}") from exc
        if not isinstance(response, RoomResolveAliasResponse):
            raise Rejected(f"the room alias {alias} does not exist here")
        self.aliases[alias] = str(response.room_id)
        return str(response.room_id)

    async def _join(self, room_id: str) -> None:
        try:
            response = await self.client.join(room_id)
        except TRANSPORT_ERRORS as exc:
            raise PlatformError(f"could not join {room_id}: {exc}") from exc
        if getattr(response, "room_id", None) != room_id:
            raise Rejected(f"the bot is not in {room_id}; invite it to the room first")
        await self.wait_for(lambda: room_id in self.client.rooms, self.join_timeout)

    def _dm_state(self, room_id: str, user_id: str) -> str:
        room = self.client.rooms.get(room_id)
        if room is None or len(room.users) > 2:
            return "gone"
        if user_id not in room.users:
            return "left"  # they declined the invitation, or left the chat
        return "invited" if user_id in room.invited_users else "joined"

    async def dm_room(self, user_id: str) -> str:
        """The direct chat with ``user_id`` (reused, else created, encrypted, and marked in
        ``m.direct``), once they have joined: an encrypted message posted before would be
        unreadable to them for good. Until they accept, sends wait (``Waiting``) without
        failing; one who declined is not invited again before ``DECLINED_PAUSE`` has passed."""
        async with self._dm_locks[user_id]:
            rooms = self.direct.get(user_id, [])
            for room_id in reversed(rooms):
                if self._dm_state(room_id, user_id) in ("invited", "joined"):
                    return await self._joined(room_id, user_id, 0.0)
            opened = self._opened.get(user_id)
            if (
                rooms
                and self._dm_state(rooms[-1], user_id) == "left"
                and opened is not None
                and self.clock.now() - opened < DECLINED_PAUSE
            ):
                raise Rejected(
                    f"{user_id} declined the direct chat the bot opened (or left it); they "
                    "are invited again in a later round, or can start a chat with the bot"
                )
            room_id = await self._create_dm(user_id)
            self._opened[user_id] = self.clock.now()
            return await self._joined(room_id, user_id, self.join_timeout)

    async def _joined(self, room_id: str, user_id: str, wait: float) -> str:
        def ready() -> bool:
            room = self.client.rooms.get(room_id)
            if room is None or user_id not in room.users:
                return False
            return user_id not in room.invited_users or not room.encrypted

        if not (ready() or (wait > 0 and await self.wait_for(ready, wait))):
            raise Waiting(
                DM_RECHECK_SECONDS, f"{user_id} has not accepted the direct chat {room_id} yet"
            )
        return room_id

    async def _create_dm(self, user_id: str) -> str:
        try:
            response = await self.client.room_create(
                is_direct=True,
                preset=RoomPreset.trusted_private_chat,
                invite=[user_id],
                initial_state=[ENCRYPTION],
            )
        except TRANSPORT_ERRORS as exc:
            raise PlatformError(f"could not open a direct chat with {user_id}: {exc}") from exc
        if isinstance(response, RoomCreateError):
            code = str(response.status_code or "")
            if code == "M_LIMIT_EXCEEDED":
                raise RateLimited(retry_after_seconds(response.retry_after_ms, None))
            if code in REFUSED:
                raise Rejected(f"cannot open a direct chat with {user_id}: {response.message}")
            raise PlatformError(f"cannot open a direct chat with {user_id}: {response.message}")
        room_id = str(response.room_id)
        await self.remember_direct(user_id, room_id)
        return room_id

    async def remember_direct(self, user_id: str, room_id: str) -> None:
        """Add a DM to ``m.direct`` (on the server too, so Element lists it as a DM)."""
        async with self._direct_lock:
            rooms = self.direct.setdefault(user_id, [])
            if room_id in rooms:
                return
            rooms.append(room_id)
            try:
                await self.client.put_account_data("m.direct", self.direct)
            except (RequestFailed, *TRANSPORT_ERRORS, LocalProtocolError) as exc:
                log.warning("could not write m.direct (kept in memory): %s", exc)

    def is_direct(self, room_id: str) -> bool:
        if any(room_id in rooms for rooms in self.direct.values()):
            return True
        room = self.client.rooms.get(room_id)
        return room is not None and len(room.users) == 2

    async def wait_for(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait (across syncs) until ``predicate()`` holds; False after ``seconds``."""
        async with self.synced:
            try:
                await asyncio.wait_for(self.synced.wait_for(predicate), seconds)
            except TimeoutError:
                return predicate()
        return True

    async def notify_synced(self) -> None:
        async with self.synced:
            self.synced.notify_all()


def _header(response: object, name: str) -> str | None:
    transport = getattr(response, "transport_response", None)
    headers = getattr(transport, "headers", None)
    if headers is None:
        return None
    value = headers.get(name)
    return str(value) if value is not None else None
