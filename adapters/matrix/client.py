"""The nio client the adapter (and the test harness) uses: a few things nio 0.26 lacks.

* ``room_send`` encrypts reactions too (nio leaves ``m.reaction`` in clear in encrypted rooms,
  where Element sends them encrypted);
* account data can be written (``m.direct``, so Element shows the bot's DMs as DMs);
* an invitation can be declined with a reason the inviter sees.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import aiohttp
from nio import AsyncClient, AsyncClientConfig, RoomSendError, RoomSendResponse
from nio.api import Api
from nio.exceptions import LocalProtocolError, ProtocolError

TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError, ProtocolError)
"""What a request to the homeserver raises when the connection, not the server, failed."""

API = "/_matrix/client/v3"


class RequestFailed(Exception):
    """A raw API call answered with an error status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body.get('errcode', '')} {body.get('error', '')}")
        self.status = status
        self.errcode = str(body.get("errcode", ""))
        self.retry_after_ms = body.get("retry_after_ms")


def client_config(pickle_key: str, **overrides: Any) -> AsyncClientConfig:
    """Encryption on, a persistent SQLite crypto store protected by ``pickle_key``.

    429s and connection errors come back to the caller at once (``max_limit_exceeded=0``,
    one quick retry on a dropped connection): the adapter paces, backs off and keeps its outbox
    itself, so a sleeping nio never holds a send or a sync hostage.
    """
    options: dict[str, Any] = {
        "encryption_enabled": True,
        "pickle_key": pickle_key,
        "store_sync_tokens": False,
        "max_limit_exceeded": 0,
        "max_timeouts": 1,
        "max_timeout_retry_wait_time": 1.0,
        "request_timeout": 30.0,
    }
    options.update(overrides)
    return AsyncClientConfig(**options)


class BotClient(AsyncClient):  # type: ignore[misc]
    """An AsyncClient with a persistent crypto store at ``store_path``."""

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        *,
        device_id: str | None,
        store_path: Path,
        config: AsyncClientConfig,
    ) -> None:
        store_path.mkdir(parents=True, exist_ok=True)
        super().__init__(
            homeserver,
            user_id,
            device_id=device_id or "",
            store_path=str(store_path),
            config=config,
        )

    async def room_send(
        self,
        room_id: str,
        message_type: str,
        content: dict[Any, Any],
        tx_id: str | None = None,
        ignore_unverified_devices: bool = False,
    ) -> RoomSendResponse | RoomSendError:
        room = self.rooms.get(room_id)
        if message_type != "m.reaction" or self.olm is None or room is None or not room.encrypted:
            return await super().room_send(
                room_id, message_type, content, tx_id, ignore_unverified_devices
            )
        await self._prepare_encrypted(room_id, ignore_unverified_devices)
        encrypted_type, encrypted = self.encrypt(room_id, message_type, content)
        method, path, data = Api.room_send(
            self.access_token, room_id, encrypted_type, encrypted, tx_id or uuid4()
        )
        return await self._send(RoomSendResponse, method, path, data, (room_id,))

    async def _prepare_encrypted(self, room_id: str, ignore_unverified_devices: bool) -> None:
        """What nio's room_send does before encrypting: members, keys, a shared session."""
        room = self.rooms[room_id]
        if not room.members_synced:
            await self.joined_members(room_id)
            if self.should_query_keys:
                await self.keys_query()
        if self.olm.should_share_group_session(room_id):
            waiting = self.sharing_session.get(room_id)
            if waiting is not None:
                await waiting.wait()
            else:
                await self.share_group_session(
                    room_id, ignore_unverified_devices=ignore_unverified_devices
                )

    async def raw(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One authenticated client-server call; raises RequestFailed on an error status."""
        if not self.access_token:
            raise LocalProtocolError("not logged in")
        headers = {
            "Authorization": f"Bearer {self.access_token}",
            "Content-Type": "application/json",
        }
        data = json.dumps(body if body is not None else {})
        response = await self.send(method, API + path, data, headers)
        try:
            parsed = await response.json(content_type=None)
        except (ValueError, json.JSONDecodeError):
            parsed = {}
        finally:
            response.release()
        result: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        if response.status >= 400:
            raise RequestFailed(response.status, result)
        return result

    async def put_account_data(self, kind: str, content: dict[str, Any]) -> None:
        user = quote(self.user_id, safe="")
        await self.raw("PUT", f"/user/{user}/account_data/{quote(kind, safe='')}", content)

    async def get_account_data(self, kind: str) -> dict[str, Any]:
        user = quote(self.user_id, safe="")
        try:
            return await self.raw("GET", f"/user/{user}/account_data/{quote(kind, safe='')}")
        except RequestFailed as exc:
            if exc.status == 404:
                return {}
            raise

    async def decline(self, room_id: str, reason: str) -> None:
        """Reject an invitation; Element shows the inviter the reason."""
        await self.raw("POST", f"/rooms/{quote(room_id, safe='')}/leave", {"reason": reason})


NIO_LEVELS = {
    "nio": logging.WARNING,  # narrates every room event, response and key at INFO
    "nio.crypto.log": logging.ERROR,  # a warning per device with no Olm session yet (every
    # new direct chat) and per event it cannot decrypt (the adapter answers those itself)
    "nio.client.async_client": logging.ERROR,  # "Timed out, sleeping for 0s" on every request
    # that timed out (the adapter retries with its own backoff, and says so once)
}
"""nio's loggers and the level the adapter sets on each, unless one was set already."""


def quiet_nio() -> None:
    for name, level in NIO_LEVELS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
