"""Sending one webhook row: the endpoint's own backoff, the signature, and what a failure
does to the endpoint.

A down endpoint is one problem, not one per event: after a failed request no other request
goes to it before ``retry_at`` (the one :class:`~bot.retry.RetryPolicy`'s delay for its
failures in a row), and its rows wait without using an attempt. Requests to one endpoint go
one at a time from a process. After ``disable_after`` failures in a row (or a ``410 Gone``,
or a secret that cannot be found) the endpoint is disabled: its waiting events are ``held``,
not dropped, and every admin gets a notice saying how to enable it again, which sends them.
A ``429`` waits as long as the receiver asked, without counting as a failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.tokens import Role
from bot.domain.errors import UserError
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.i18n import _
from bot.notices import tell_admins
from bot.ports import Clock, Unreachable
from bot.retry import RELEASED, RetryPolicy, later
from bot.storage.database import Database
from bot.storage.records import Delivery, Webhook
from bot.webhooks import signing
from bot.webhooks.body import data_of, envelope
from bot.webhooks.events import endpoint_of, prefix

log = logging.getLogger(__name__)
Values = dict[str, Any]


@dataclass(frozen=True)
class Response:
    status: int
    retry_after: float | None = None


class Poster(Protocol):
    """POSTs a body; an adapter implements it over HTTP. A request that got no HTTP answer
    (refused, timed out, no such host) raises :class:`~bot.ports.Unreachable`."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """One request, bounded by the poster's own time limit."""
        ...

    async def close(self) -> None: ...


def host_of(url: str) -> str:
    """Where an endpoint is, for people and logs: never its path or query (they may hold a
    token of the receiver's)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


class Courier:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        poster: Poster | None,
        retry: RetryPolicy,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.poster = poster
        self.retry = retry
        self.environ = environ if environ is not None else {}
        """Where ``secret_env`` names are looked up (the process environment)."""
        self._locks: dict[int, asyncio.Lock] = {}

    async def attempt(self, row: Delivery, now: datetime) -> Values:
        """The row's new values after trying to send it."""
        if self.poster is None:
            return later(now + timedelta(minutes=1), "webhooks are not sent by this process")
        endpoint_id = endpoint_of(row)
        lock = self._locks.setdefault(endpoint_id, asyncio.Lock())
        async with lock:
            return await self._attempt(row, endpoint_id, self.poster)

    async def _attempt(self, row: Delivery, endpoint_id: int, poster: Poster) -> Values:
        now = self.clock.now()
        async with self.db.session() as s:
            hook = await s.get(Webhook, endpoint_id)
            if hook is None or hook.removed_at is not None:
                return _closed(DeliveryStatus.CANCELLED, "the endpoint was removed")
            if not hook.active:
                return _closed(DeliveryStatus.HELD, "the endpoint is disabled")
            if hook.retry_at is not None and hook.retry_at > now:
                return later(hook.retry_at, row.last_error or hook.last_error)
            try:
                said = await data_of(s, row.payload or {}, Role(hook.role), hook.key)
            except (KeyError, ValueError, TypeError, UserError) as exc:  # no body to read
                log.error("webhook row %s cannot be read (%s); it is not sent", row.id, exc)
                return _closed(DeliveryStatus.FAILED, f"unreadable event: {exc}")
            if said is None:
                return _closed(DeliveryStatus.CANCELLED, "nothing to send: erased or not shared")
            secret = hook.secret or self.environ.get(hook.secret_env or "")
            if not secret:
                reason = (
                    f"its secret variable {hook.secret_env} is not set in the bot's environment"
                )
                await self._disable(s, hook, now, reason)
                return _closed(DeliveryStatus.HELD, reason)
            url, key = hook.url, hook.key
        event, data = said[0].value, said[1]
        body = json.dumps(envelope(row.id, event, row.created_at, data)).encode()
        stamp = int(now.timestamp())
        headers = signing.headers(secret, stamp, body, event, f"evt_{row.id}")
        response: Response | None = None
        try:
            response = await poster.post(url, body, headers)
            error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except Unreachable as exc:
            error = f"unreachable: {exc}"
        except Exception as exc:  # whatever went wrong, the endpoint did not take it
            error = f"{type(exc).__name__}: {exc}"
        async with self.db.session() as s:
            hook = await s.get(Webhook, endpoint_id)
            if hook is None:
                return _closed(DeliveryStatus.CANCELLED, "the endpoint was removed")
            if error is None:
                hook.failures, hook.retry_at, hook.last_error = 0, None, None
                hook.last_success_at = now
                return _sent(row, url, now)
            log.warning("webhook %s (%s): %s", key, host_of(url), error)
            if response is not None and response.status == 429:
                wait = response.retry_after if response.retry_after is not None else 60.0
                hook.retry_at = now + timedelta(seconds=max(wait, 0.05))
                return later(hook.retry_at, f"rate limited: {error}")
            hook.failures += 1
            hook.last_error = error[:500]
            gone = response is not None and response.status == 410
            if gone or hook.failures >= hook.disable_after:
                why = "it answered 410 Gone" if gone else f"{hook.failures} failures in a row"
                await self._disable(s, hook, now, f"{why}; the last: {error}")
                return _closed(DeliveryStatus.HELD, error, attempts=row.attempts + 1)
            hook.retry_at = now + timedelta(seconds=self.retry.delay(hook.failures))
            return later(hook.retry_at, error, attempts=row.attempts + 1)

    async def _disable(self, s: AsyncSession, hook: Webhook, now: datetime, reason: str) -> None:
        hook.active = False
        hook.disabled_at, hook.disabled_reason = now, reason[:500]
        await hold(s, hook.id)
        log.error("webhook %s (%s) is disabled: %s", hook.key, host_of(hook.url), reason)
        notice = _(
            "The webhook “{key}” ({host}) is disabled: {reason}. Its events are kept. Once the "
            "endpoint works again, run: alliance-bot webhook enable {key}",
            key=hook.key,
            host=host_of(hook.url),
            reason=reason,
        )
        await tell_admins(s, now, notice, f"webhook-disabled:{hook.id}:{now.isoformat()}")


async def hold(s: AsyncSession, endpoint_id: int) -> None:
    """Every event waiting for the endpoint is held until it is enabled."""
    await s.execute(
        update(Delivery)
        .where(
            Delivery.kind == DeliveryKind.WEBHOOK.value,
            Delivery.dedupe_key.startswith(prefix(endpoint_id)),
            Delivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.HELD.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


def _closed(status: DeliveryStatus, reason: str, **extra: Any) -> Values:
    return {
        **RELEASED,
        "status": status.value,
        "next_attempt_at": None,
        "last_error": reason[:2000],
        **extra,
    }


def _sent(row: Delivery, url: str, now: datetime) -> Values:
    return {
        **RELEASED,
        "status": DeliveryStatus.SENT.value,
        "sent_at": now,
        "platform": "webhook",
        "address": host_of(url),
        "attempts": row.attempts + 1,
        "next_attempt_at": None,
        "last_error": None,
    }
