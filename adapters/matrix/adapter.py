"""The Matrix adapter: log in, sync forever, hand events to the core, post its replies.

The sync position is saved (``directory.set_state``) only after every event of a batch was
handled, and the core ignores an event id it has seen: a crash re-reads at most one batch and
changes nothing twice; a restart misses nothing sent while the bot was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from typing import Any

from nio import (
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MegolmEvent,
    RoomMessagesResponse,
    SyncError,
    SyncResponse,
    WhoamiResponse,
)

from adapters.matrix import translate
from adapters.matrix.client import BotClient, client_config
from adapters.matrix.placement import Placement
from adapters.matrix.port import TRANSPORT_ERRORS, MatrixPort
from bot.domain.errors import UserError
from bot.events import InboundEvent
from bot.ports import ChatPort, Clock
from bot.runtime import Runtime
from bot.settings import Settings
from bot.tasks import TaskGroup

log = logging.getLogger(__name__)
DECLINE = (
    "Sorry, I only join rooms when a member of the alliance invites me. If you should be one, "
    "ask your alliance's backbone team to add your Matrix account to the alliance file."
)


class SyncFailed(Exception):
    """The homeserver answered a sync or a login with an error."""


class MatrixAdapter:
    name = translate.PLATFORM

    def __init__(
        self,
        client: BotClient,
        port: MatrixPort,
        *,
        access_token: str | None = None,
        password: str | None = None,
        device_id: str | None = None,
        sync_timeout_ms: int = 30_000,
        max_backoff: float = 30.0,
        timeline_limit: int = 50,
        min_sync_interval: float = 0.25,
        login_wait: float = 15.0,
    ) -> None:
        if not access_token and not password:
            raise UserError("Matrix needs an access token or a password for the bot's account.")
        self.client = client
        self.matrix_port = port
        self.port: ChatPort = port
        self.access_token = access_token
        self.password = password
        self.device_id = device_id
        self.sync_timeout_ms = sync_timeout_ms
        self.max_backoff = max_backoff
        self.filter = {"room": {"timeline": {"limit": timeline_limit}}}
        self.login_wait = login_wait
        self.min_sync_interval = min_sync_interval
        """Syncs start at least this far apart, so a burst of sends (each of which wakes the
        bot's own long poll) costs the homeserver a few syncs, not one per message."""
        self.tasks = TaskGroup("matrix")
        self.runtime: Runtime | None = None
        self.placement: Placement | None = None
        self.token: str | None = None
        self.replied = port.replied
        """Inbound event id -> the event ids of the replies posted for it (the latest 5000)."""
        self.replied_changed = port.replied_changed
        self.handled: OrderedDict[str, InboundEvent] = OrderedDict()
        """The latest events handed to the core (tests wait on ``replied_changed`` for them)."""
        self.ready = asyncio.Event()
        """Set after the first successful sync."""
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._handling = False
        self._synced_once = False
        self._logged_in = False
        self._pending_invites: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> MatrixAdapter:
        config = settings.matrix
        if not config.homeserver or not config.user_id:
            raise UserError("Set ALLIANCE_BOT_MATRIX__HOMESERVER and __USER_ID for Matrix.")
        if config.pickle_key is None:
            raise UserError(
                "Set ALLIANCE_BOT_MATRIX__PICKLE_KEY: it protects the bot's encryption keys "
                "at rest (keep it secret, and keep it: a new key cannot read the old store)."
            )
        nio_log = logging.getLogger("nio")
        if nio_log.level == logging.NOTSET:  # nio narrates every room event at INFO
            nio_log.setLevel(logging.WARNING)
        client = BotClient(
            config.homeserver,
            config.user_id,
            device_id=config.device_id,
            store_path=config.store_path or settings.data_dir / "matrix-store",
            config=client_config(config.pickle_key.get_secret_value()),
        )
        return cls(
            client,
            MatrixPort(client, clock),
            access_token=config.access_token.get_secret_value() if config.access_token else None,
            password=config.password.get_secret_value() if config.password else None,
            device_id=config.device_id,
        )

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def _state_key(self, name: str) -> str:
        return f"{name}:{self.client.user}"

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, runtime: Runtime) -> None:
        """Begin syncing in the background; a homeserver that is down is retried with backoff."""
        self.runtime = runtime
        self.placement = Placement(self.matrix_port, runtime)
        self.matrix_port.placement = self.placement
        self._stopping = False
        self.matrix_port.closed = False
        self.token = await runtime.directory.get_state(self.name, self._state_key("next_batch"))
        self._loop_task = asyncio.create_task(self._run(), name="matrix:sync")
        # Ready before anything is sent through it: synced once (nio then knows the rooms;
        # a send before fails with "No such room"), or (a homeserver that is down)
        # given a while; sends meanwhile wait without using up attempts.
        if not await self.matrix_port.wait_for(lambda: self.matrix_port.open, self.login_wait):
            log.warning("Matrix: not synced after %.0f s; going on trying", self.login_wait)

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.close()

    async def stop_receiving(self) -> None:
        """Finish the batch being handled (never cut one in half), then stop syncing."""
        self._stopping = True
        task, self._loop_task = self._loop_task, None
        if task is not None:
            if not self._handling:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=15)
        try:
            await asyncio.wait_for(self.tasks.wait(), timeout=15)
        except TimeoutError:
            await self.tasks.cancel()

    async def close(self) -> None:
        self.matrix_port.open = False
        self.matrix_port.closed = True
        self._logged_in = False
        await self.matrix_port.notify_synced()
        await self.client.close()

    async def _run(self) -> None:
        backoff = 0.25
        down_since: float | None = None  # an outage is logged when it starts and ends
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if not self._logged_in:
                    await self._login()
                started = loop.time()
                await self._sync_once()
                backoff = 0.25
                if down_since is not None:
                    log.warning(
                        "Matrix: the homeserver is reachable again after %.0f s",
                        loop.time() - down_since,
                    )
                    down_since = None
                rest = self.min_sync_interval - (loop.time() - started)
                if rest > 0:
                    await asyncio.sleep(rest)
            except asyncio.CancelledError:
                raise
            except (SyncFailed, *TRANSPORT_ERRORS) as exc:
                if down_since is None:
                    down_since = loop.time()
                    log.warning(
                        "Matrix sync failed (%s); the rest of the bot runs, and Matrix is tried "
                        "again with backoff",
                        exc,
                    )
                else:
                    log.debug("Matrix sync failed again (%s); next try in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception:
                log.exception("the Matrix sync loop failed; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def _login(self) -> None:
        assert self.runtime is not None
        directory = self.runtime.directory
        device_key = self._state_key("device")
        device = self.device_id or await directory.get_state(self.name, device_key)
        user_id = str(self.client.user)
        if self.access_token:
            if not device:
                self.client.access_token = self.access_token
                whoami = await self.client.whoami()
                if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                    raise SyncFailed(f"the access token was refused: {whoami}")
                device = str(whoami.device_id)
            self.client.restore_login(user_id, device, self.access_token)
        else:
            self.client.device_id = device or ""
            response = await self.client.login(self.password, device_name="alliance-bot")
            if not isinstance(response, LoginResponse):
                raise SyncFailed(f"login refused: {getattr(response, 'message', response)}")
        if self.client.device_id != device:
            await directory.set_state(self.name, device_key, str(self.client.device_id))
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        salt = await directory.get_state(self.name, "transaction-salt")
        if salt is None:
            salt = secrets.token_hex(8)
            await directory.set_state(self.name, "transaction-salt", salt)
        self.matrix_port.salt = salt
        direct = await self.client.get_account_data("m.direct")
        self.matrix_port.direct = translate.direct_rooms(direct)
        self._logged_in = True
        log.info("Matrix: %s logged in as device %s", user_id, self.client.device_id)

    async def _sync_once(self) -> None:
        assert self.runtime is not None
        first = not self._synced_once
        response = await self.client.sync(
            timeout=0 if first else self.sync_timeout_ms,
            sync_filter=self.filter,
            since=self.token,
            full_state=True if first else None,
        )
        if isinstance(response, SyncError) or not isinstance(response, SyncResponse):
            raise SyncFailed(f"{getattr(response, 'status_code', '')} {response}")
        if not self.matrix_port.open:  # nio knows the rooms now; before, every send fails
            self.matrix_port.open = True
            await self.matrix_port.notify_synced()
        self._handling = True
        try:
            await self._handle(response, history=self.token is None)
            await self.runtime.directory.set_state(
                self.name, self._state_key("next_batch"), response.next_batch
            )
        finally:
            self._handling = False
        self.token = response.next_batch
        self._synced_once = True
        self.ready.set()
        await self.matrix_port.notify_synced()
        await self._keys()

    async def _keys(self) -> None:
        """What nio's sync_forever does between syncs: to-device messages and device keys."""
        client = self.client
        if client.outgoing_to_device_messages:
            await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    # --- events --------------------------------------------------------------------------------

    async def _handle(self, response: SyncResponse, *, history: bool) -> None:
        """Invitations, then every room's new events in order. ``history``: the very first
        sync of this database, whose timelines are the past, not work to do."""
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id, inviter in list(self._pending_invites.items()):
            if room_id not in response.rooms.invite:
                await self._accept(room_id, inviter, is_direct=False)
        if history:
            return
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch and self.token:
                events = await self._backfill(room_id, info.timeline.prev_batch) + events
            for event in events:
                await self._on_event(room_id, event)

    async def _backfill(self, room_id: str, start: str) -> list[Any]:
        """The events a limited timeline left out, back to where the last batch ended."""
        found: list[Any] = []
        for _ in range(50):
            response = await self.client.room_messages(
                room_id, start=start, end=self.token, limit=100
            )
            if not isinstance(response, RoomMessagesResponse):
                log.warning("could not fill a gap in %s: %s", room_id, response)
                break
            found.extend(response.chunk)
            if not response.chunk or not response.end or response.end == start:
                break
            start = response.end
        if found:
            log.info("Matrix: read back %d events a sync left out in %s", len(found), room_id)
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
        if await self.runtime.directory.display_name(self.name, inviter) is None:
            log.info("declining %s's invitation to %s: not a member", inviter, room_id)
            with contextlib.suppress(Exception):
                await self.client.decline(room_id, DECLINE)
            return
        await self._accept(room_id, inviter, is_direct)

    async def _accept(self, room_id: str, inviter: str, is_direct: bool) -> None:
        response = await self.client.join(room_id)
        if isinstance(response, JoinError):
            log.warning("could not join %s (%s); will try again", room_id, response.message)
            self._pending_invites[room_id] = inviter
            return
        self._pending_invites.pop(room_id, None)
        if is_direct:
            await self.matrix_port.remember_direct(inviter, room_id)

    async def _on_event(self, room_id: str, event: Any) -> None:
        assert self.runtime is not None
        source = getattr(event, "source", None)
        if not isinstance(source, dict):
            return
        if isinstance(event, MegolmEvent):
            source = {**source, "type": "m.room.encrypted"}
        inbound = translate.inbound(
            source,
            room_id=room_id,
            own_user_id=self.user_id,
            is_direct=self.matrix_port.is_direct(room_id),
        )
        if inbound is None:
            return
        # Its effect and its replies are durable when this returns (the outbox sends the
        # replies), so the sync position saved after the batch never skips an answer.
        await self.runtime.handle(inbound)
        async with self.replied_changed:
            self.handled[inbound.event_id] = inbound
            while len(self.handled) > 5000:
                self.handled.popitem(last=False)
            self.replied_changed.notify_all()
