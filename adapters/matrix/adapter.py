"""The Matrix adapter: log in, sync, hand events to the core, post its replies.

Every worker logs in with a device of its own (its crypto store is its own) and syncs: nio
then knows the rooms, their members and their devices, so any worker can send what the outbox
gives it, encrypted. Only the holder of the lease ``matrix-sync:<bot user>`` hands events to
the core; the others sync without handling anything, and try for the lease every few seconds.

Two positions are kept. Each device's own sync token (in its crypto store, saved once a sync
is processed) carries its to-device messages (the room keys), which the homeserver deletes
for a device once it syncs past them: a device must never sync from another one's token. The
handling position (``next_batch`` in the database) is where the holder's last handled batch
ended, saved only after every event of the batch was handled; the core ignores an event id
it has seen. A worker that takes over reads each room back from its own position to that one
with ``/messages``: nothing sent while nobody held the lease is missed, and nothing is
handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from nio import LoginResponse, SyncError, SyncResponse, WhoamiResponse

from adapters.matrix import settings as matrix_settings
from adapters.matrix import translate
from adapters.matrix.client import TRANSPORT_ERRORS, BotClient, client_config, quiet_nio
from adapters.matrix.device import DeviceClaim, DeviceTaken, stored_device
from adapters.matrix.inbound import DECLINE, Inbound
from adapters.matrix.placement import Placement
from adapters.matrix.port import MatrixPort
from bot.domain.errors import UserError
from bot.edge import Core
from bot.ports import ChatPort, Clock
from bot.settings import Settings
from bot.storage.locks import Lease
from bot.tasks import TaskGroup

__all__ = ["DECLINE", "MatrixAdapter", "SyncFailed"]
log = logging.getLogger(__name__)


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
        quiet_nio()
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
        self.runtime: Core | None = None
        self.placement: Placement | None = None
        self.inbound = Inbound(client, port)
        self.lease: Lease | None = None
        """Held by the one worker that hands the account's events to the core."""
        self.own: str | None = None
        """This device's sync position (kept in its crypto store)."""
        self.cursor: str | None = None
        """Where handling stopped: the end of the last batch handled, by whichever worker."""
        self.replied = port.replied
        """Inbound event id -> the event ids of the replies posted for it (the latest 5000)."""
        self.replied_changed = port.replied_changed
        self.handled = self.inbound.handled
        """The latest events handed to the core (tests wait on ``replied_changed`` for them)."""
        self.ready = asyncio.Event()
        """Set after the first successful sync."""
        self._loop_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._lease_stop = asyncio.Event()
        self.device = DeviceClaim(None, "", self._lease_stop)  # claimed at login (device.py)
        self._stopping = False
        self._handling = False
        self._dispatching = False
        """The last sync's events were handed over (False: the next one held is a takeover)."""
        self._synced_once = False
        self._logged_in = False

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> MatrixAdapter:
        config = matrix_settings.of(settings)
        if not config.homeserver or not config.user_id:
            raise UserError("Set ALLIANCE_BOT_MATRIX__HOMESERVER and __USER_ID for Matrix.")
        if config.pickle_key is None:
            raise UserError(
                "Set ALLIANCE_BOT_MATRIX__PICKLE_KEY: it protects the bot's encryption keys "
                "at rest (keep it secret, and keep it: a new key cannot read the old store)."
            )
        client = BotClient(
            config.homeserver,
            config.user_id,
            device_id=config.device_id,
            store_path=config.store_path or settings.data_dir / "matrix-store",
            config=client_config(config.pickle_key.get_secret_value()),
        )
        return cls(
            client,
            MatrixPort(
                client,
                clock,
                per_second=config.messages_per_second,
                burst=config.messages_burst,
                choices=config.choices,
            ),
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

    async def start(self, runtime: Core) -> None:
        """Begin syncing in the background; a homeserver that is down is retried with backoff."""
        self.runtime = runtime
        self.inbound.runtime = runtime
        self.placement = Placement(self.matrix_port, runtime)
        self.matrix_port.placement = self.placement
        self._stopping = False
        self._dispatching = False
        self.matrix_port.closed = False
        self.matrix_port.share(runtime.shared_pace)
        self.lease = runtime.lease(f"matrix-sync:{self.client.user}")
        self._lease_stop = asyncio.Event()
        self.device = DeviceClaim(runtime, str(self.client.user), self._lease_stop)
        self._lease_task = asyncio.create_task(
            self.lease.run(self._took, self._lost, self._lease_stop), name="matrix:lease"
        )
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
        """Finish the batch being handled (never cut one in half), stop syncing, then give up
        the sync lease: another worker takes over from the last batch handled."""
        self._stopping = True
        task, self._loop_task = self._loop_task, None
        if task is not None:
            if not self._handling:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=15)
        self._lease_stop.set()
        lease_task, self._lease_task = self._lease_task, None
        if lease_task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(lease_task, timeout=15)
        await self.device.release()
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

    async def _took(self) -> None:
        assert self.lease is not None
        self._dispatching = False  # the next sync catches up from where handling stopped
        if self.lease.shared:
            log.info("Matrix: this worker takes over the sync of %s", self.client.user)

    async def _lost(self) -> None:
        assert self.lease is not None
        if self.lease.shared:
            log.info("Matrix: this worker no longer handles the sync of %s", self.client.user)

    async def _run(self) -> None:
        backoff = 0.25
        down_since: float | None = None  # an outage is logged when it starts and ends
        loop = asyncio.get_running_loop()
        if self.lease is not None:  # the first sync knows whether it is this worker's to handle
            await self.lease.tried.wait()
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
            except (SyncFailed, DeviceTaken, *TRANSPORT_ERRORS) as exc:
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
        user_id = str(self.client.user)
        if self.access_token:  # the token names the device
            device = self.device_id
            if not device:
                self.client.access_token = self.access_token
                whoami = await self.client.whoami()
                if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                    raise SyncFailed(f"the access token was refused: {whoami}")
                device = str(whoami.device_id)
            await self.device.claim(device)
            self.client.restore_login(user_id, device, self.access_token)
        else:
            recorded = await directory.get_state(self.name, self._state_key("device"))
            self.client.device_id = (
                self.device_id
                or stored_device(self.client.store_path, str(self.client.user), recorded)
                or ""
            )
            await self.device.claim(self.client.device_id)  # a new device is nobody's yet
            response = await self.client.login(self.password, device_name="alliance-bot")
            if not isinstance(response, LoginResponse):
                raise SyncFailed(f"login refused: {getattr(response, 'message', response)}")
            await self.device.claim(str(self.client.device_id))
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        salt = await directory.get_state(self.name, "transaction-salt")
        if salt is None:
            salt = secrets.token_hex(8)
            await directory.set_state(self.name, "transaction-salt", salt)
        self.matrix_port.salt = salt
        direct = await self.client.get_account_data("m.direct")
        self.matrix_port.direct = translate.direct_rooms(direct)
        if self.own is None:
            self.own = self._load_own()
        self._logged_in = True
        log.info("Matrix: %s logged in as device %s", user_id, self.client.device_id)

    def _load_own(self) -> str | None:
        store = self.client.store
        if store is None:
            return None
        try:
            token = store.load_sync_token()
        except Exception:  # an unreadable token: a full sync instead
            log.warning("Matrix: could not read this device's sync position", exc_info=True)
            return None
        return str(token) if token else None

    def _save_own(self, token: str) -> None:
        self.own = token
        store = self.client.store
        if store is not None:
            store.save_sync_token(token)

    # --- syncing -------------------------------------------------------------------------------

    async def _sync_once(self) -> None:
        """One sync from this device's position. Held: hand its events to the core (after a
        takeover, first what happened since handling stopped); not held: only keep nio's view
        of rooms, members and keys, with short polls so a takeover waits for none."""
        assert self.runtime is not None and self.lease is not None
        holding = self.lease.held
        takeover = holding and not self._dispatching
        quick = not self._synced_once or takeover
        poll = self.sync_timeout_ms if holding else int(self.lease.try_every * 1000)
        since = self.own
        response = await self.client.sync(
            timeout=0 if quick else min(poll, self.sync_timeout_ms),
            sync_filter=self.filter,
            since=since,
            full_state=True if quick else None,
        )
        if isinstance(response, SyncError) or not isinstance(response, SyncResponse):
            raise SyncFailed(f"{getattr(response, 'status_code', '')} {response}")
        if not self.matrix_port.open:  # nio knows the rooms now; before, every send fails
            self.matrix_port.open = True
            await self.matrix_port.notify_synced()
        self.inbound.note(response)
        self._merge_direct(response)
        if holding and self.lease.held:
            self._handling = True
            try:
                await self._dispatch(response, since, takeover)
            finally:
                self._handling = False
        else:
            self._dispatching = False
        self._save_own(response.next_batch)
        self._synced_once = True
        self.ready.set()
        await self.matrix_port.notify_synced()
        await self._keys()

    async def _dispatch(self, response: SyncResponse, since: str | None, takeover: bool) -> None:
        """Hand a batch to the core, then save where handling stopped (while still held)."""
        assert self.runtime is not None and self.lease is not None
        directory = self.runtime.directory
        key = self._state_key("next_batch")
        if takeover:  # another worker may have handled batches since this one last did
            self.cursor = await directory.get_state(self.name, key)
        gap = takeover and self.cursor is not None and self.cursor != since
        await self.inbound.handle(
            response, since=since, history=self.cursor is None or gap, every_invite=takeover
        )
        if gap and self.cursor is not None:
            read = await self.inbound.catch_up(response.next_batch, self.cursor)
            log.info("Matrix: read %d events back to where handling had stopped", read)
        if self.lease.held:  # lost meanwhile: the new holder's position is the one that counts
            await directory.set_state(self.name, key, response.next_batch)
        self.cursor = response.next_batch
        self._dispatching = True

    def _merge_direct(self, response: SyncResponse) -> None:
        """``m.direct`` as another worker wrote it: its new direct chats are reused, not
        opened again."""
        for event in response.account_data_events:
            content = getattr(event, "content", None)
            if getattr(event, "type", None) != "m.direct" or not isinstance(content, dict):
                continue
            for user, rooms in translate.direct_rooms(content).items():
                known = self.matrix_port.direct.setdefault(user, [])
                known.extend(room for room in rooms if room not in known)

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
