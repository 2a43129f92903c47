"""The outbox dispatcher: sends due deliveries through each member's platform, with backoff.

A delivery row exists before anything is sent, so a crash or an outage loses nothing: the row
stays pending and is sent when the platform answers again. A platform's “slow down” postpones
every send to it by the time it asked for; other failures back off exponentially with jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.ports import (
    ChatPort,
    Clock,
    Destination,
    Outgoing,
    PlatformError,
    RateLimited,
    Rejected,
    Waiting,
)
from bot.render import Renderer
from bot.storage.database import Database
from bot.storage.records import Delivery

log = logging.getLogger(__name__)
SENDING = "sending: the outcome was not recorded yet"
"""Set on every row of a pass before anything is sent. A row still marked so when it is next
due was being sent when the process stopped: the platform may have posted it, so the port is
told (``Outgoing.attempt``) and one without idempotency keys looks before posting again."""


@dataclass
class Outcome:
    delivery_id: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    max_wait_seconds: float = 3 * 86400.0
    """How long a send may wait on the person (``Waiting``) after it fell due."""

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter around the nominal delay."""
        nominal = min(self.max_seconds, self.base_seconds * 2.0 ** max(attempt - 1, 0))
        return float(nominal * random.uniform(0.5, 1.5))


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ports: Mapping[str, ChatPort],
        renderer: Renderer,
        *,
        preference: Sequence[str] | None = None,
        concurrency: int = 32,
        retry: RetryPolicy | None = None,
        batch: int = 500,
    ) -> None:
        self.db = db
        self.clock = clock
        self.ports = dict(ports)
        self.preference = list(preference or self.ports)
        self.renderer = renderer
        self.retry = retry or RetryPolicy()
        self.batch = batch
        self._semaphore = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._blocked_until: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self.sent_count = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Send whatever falls due until ``stop`` is set."""
        while not stop.is_set():
            try:
                handled = await self.run_due()
            except Exception:
                log.exception("the dispatcher failed a pass; trying again shortly")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            stopper.cancel()

    async def drain(self) -> int:
        """Send everything due now, including retries that fall due meanwhile; for tests and EOF."""
        total = 0
        while handled := await self.run_due():
            total += handled
        return total

    async def run_due(self) -> int:
        """One pass over what is due; passes never overlap, so nothing is sent twice."""
        async with self._lock:
            return await self._pass()

    async def _pass(self) -> int:
        now = self.clock.now()
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(Delivery)
                    .where(
                        Delivery.status == DeliveryStatus.PENDING.value,
                        Delivery.next_attempt_at <= now,
                    )
                    .order_by(Delivery.next_attempt_at, Delivery.id)
                    .limit(self.batch)
                )
            ).all()
            if not rows:
                return 0
            context = await self.renderer.context(s, rows, self.preference)
            before = {row.id: row.last_error for row in rows}
            await s.execute(
                update(Delivery)
                .where(Delivery.id.in_(list(before)))
                .values(last_error=SENDING)
                .execution_options(synchronize_session=False)
            )
        outcomes = await asyncio.gather(
            *(self._one(row, context, now, before[row.id]) for row in rows)
        )
        await self._record(outcomes)
        return len(rows)

    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        """One executemany per set of columns (sent, failed, postponed differ), not a
        statement per row: ORM bulk UPDATE by primary key."""
        changes = [{"id": o.delivery_id, **o.values} for o in outcomes if o.values]
        async with self.db.session() as s:
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for change in changes:
                by_columns.setdefault(tuple(sorted(change)), []).append(change)
            for group in by_columns.values():
                await s.execute(update(Delivery), group)

    async def _one(
        self, row: Delivery, context: Any, now: datetime, last_error: str | None
    ) -> Outcome:
        try:
            plan = self.renderer.plan(row, context)
        except Rejected as exc:
            return Outcome(
                row.id,
                {
                    "status": DeliveryStatus.FAILED.value,
                    "last_error": str(exc),
                    "next_attempt_at": None,
                },
            )
        if plan is None:
            return Outcome(
                row.id,
                {
                    "status": DeliveryStatus.CANCELLED.value,
                    "next_attempt_at": None,
                    "last_error": None,
                },
            )
        platform, destination, message = plan.platform, plan.destination, plan.message
        port = self.ports.get(platform)
        if port is None:
            return Outcome(
                row.id,
                {
                    "status": DeliveryStatus.FAILED.value,
                    "next_attempt_at": None,
                    "last_error": f"no {platform} adapter is running",
                },
            )
        blocked = self._blocked_until.get(platform)
        if blocked and blocked > now:
            return Outcome(row.id, {"next_attempt_at": blocked, "last_error": last_error})
        uncertain = last_error == SENDING  # the last send's outcome was never recorded
        message = replace(message, attempt=row.attempts + uncertain)
        outcome = await self._send(row, port, destination, message, now, plan.remind_after)
        if plan.attachments and outcome.values.get("status") == DeliveryStatus.SENT.value:
            for attachment in plan.attachments:
                try:
                    await port.upload(destination, attachment, attachment.title)
                except Exception as exc:  # the message itself went out: do not send it again
                    log.warning(
                        "delivery %s: %s was not uploaded: %s", row.id, attachment.filename, exc
                    )
        return outcome

    async def _send(
        self,
        row: Delivery,
        port: ChatPort,
        destination: Destination,
        message: Outgoing,
        now: datetime,
        remind_after: int | None,
    ) -> Outcome:
        try:
            async with self._semaphore:
                sent = await port.send(destination, message)
        except RateLimited as exc:
            until = now + timedelta(seconds=max(exc.retry_after, 0.05))
            self._blocked_until[port.platform] = max(
                until, self._blocked_until.get(port.platform, until)
            )
            return Outcome(row.id, {"next_attempt_at": until, "last_error": f"rate limited: {exc}"})
        except Waiting as exc:
            return self._waiting(row, now, exc)
        except Rejected as exc:
            log.warning("delivery %s refused by %s: %s", row.id, port.platform, exc)
            return Outcome(
                row.id,
                {
                    "status": DeliveryStatus.FAILED.value,
                    "last_error": str(exc)[:2000],
                    "next_attempt_at": None,
                },
            )
        except (PlatformError, OSError, TimeoutError) as exc:
            return self._failed(row, now, exc)
        except Exception as exc:  # an adapter bug must not stop the outbox
            log.exception("delivery %s: unexpected error from %s", row.id, port.platform)
            return self._failed(row, now, exc)
        self.sent_count += 1
        sent_at = sent.sent_at or now
        values: dict[str, Any] = {
            "status": DeliveryStatus.SENT.value,
            "sent_at": sent_at,
            "platform": port.platform,
            "address": sent.address or destination.target,
            "message_ref": sent.message_ref,
            "thread_ref": sent.thread_ref,
            "attempts": row.attempts + 1,
            "next_attempt_at": None,
            "last_error": None,
        }
        if row.kind == DeliveryKind.PROMPT.value and row.member_id and remind_after:
            values["remind_at"] = sent_at + timedelta(minutes=remind_after)
        return Outcome(row.id, values)

    def _waiting(self, row: Delivery, now: datetime, exc: Waiting) -> Outcome:
        """Waiting on the person is no failed attempt: check again later, within a limit."""
        waited = (now - row.scheduled_at).total_seconds()
        if waited >= self.retry.max_wait_seconds:
            log.warning("delivery %s: gave up waiting after %.0f h: %s", row.id, waited / 3600, exc)
            return Outcome(
                row.id,
                {
                    "status": DeliveryStatus.FAILED.value,
                    "last_error": f"gave up waiting after {waited / 3600:.0f} h: {exc}"[:2000],
                    "next_attempt_at": None,
                },
            )
        return Outcome(
            row.id,
            {
                "next_attempt_at": now + timedelta(seconds=max(exc.retry_after, 1.0)),
                "last_error": f"waiting: {exc}"[:2000],
            },
        )

    def _failed(self, row: Delivery, now: datetime, exc: BaseException) -> Outcome:
        attempts = row.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= self.retry.max_attempts:
            log.error("delivery %s failed for good after %d attempts: %s", row.id, attempts, error)
            return Outcome(
                row.id,
                {
                    "status": DeliveryStatus.FAILED.value,
                    "attempts": attempts,
                    "last_error": error,
                    "next_attempt_at": None,
                },
            )
        delay = self.retry.delay(attempts)
        log.warning(
            "delivery %s failed (attempt %d), retrying in %.0fs: %s", row.id, attempts, delay, error
        )
        return Outcome(
            row.id,
            {
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": now + timedelta(seconds=delay),
            },
        )
