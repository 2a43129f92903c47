"""The outbox dispatcher: claims due deliveries, sends each through its platform, records each
outcome the moment its send completes.

A delivery row exists before anything is sent, so a crash or an outage loses nothing. A row is
claimed (``sending``, by this process, until a lease ends) just before its send starts, so only
the sends really in flight can have an unknown outcome after a crash: their claims run out and
they are sent again as ``Outgoing.attempt`` > 0, which tells a port without idempotency keys to
look before posting. Replies to people have a lane of their own, claimed ahead of campaigns and
never waiting for free slots behind them. What a failure means is :mod:`bot.retry`'s to say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, true, update

from bot import claims
from bot.domain.values import DeliveryKind, DeliveryStatus, Lane
from bot.journal import Journal
from bot.logcontext import log_context
from bot.metrics import Metrics
from bot.ports import ChatPort, Clock, Paced, PlatformError, RateLimited, Rejected, Unreachable
from bot.render import BatchContext, Plan, Renderer
from bot.replies import reply_of
from bot.retry import RELEASED, RetryPolicy, given_up, later, outcome
from bot.storage.database import Database
from bot.storage.outage import is_outage
from bot.storage.records import Delivery, OutboxFile
from bot.tasks import TaskGroup, first_of
from bot.webhooks.courier import Courier
from bot.workers import worker_name

log = logging.getLogger(__name__)
__all__ = ["Dispatcher", "RetryPolicy"]
LEASE = timedelta(seconds=60)
"""How long a claim holds before another dispatcher may take the row back."""


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
        reply_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        lease: timedelta = LEASE,
        metrics: Metrics | None = None,
        webhooks: Courier | None = None,
    ) -> None:
        self.db = db
        self.webhooks = webhooks
        self.metrics = metrics
        self.clock = clock
        self.ports = dict(ports)
        self.preference = list(preference or self.ports)
        self.renderer = renderer
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.worker = worker_name()
        self.journal = Journal(db)
        self.capacity = {
            Lane.REPLIES: reply_concurrency,
            Lane.SCHEDULED: concurrency,
            Lane.WEBHOOKS: max(1, reply_concurrency // 2),
        }
        self.busy = dict.fromkeys(Lane, 0)
        self.sending: set[int] = set()
        """Rows this dispatcher is sending now: never taken back from itself, whatever the
        clock says (a manual clock may jump past their lease)."""
        self.inflight = TaskGroup("sends")
        self._wake = asyncio.Event()
        self._blocked_until: dict[str, datetime] = {}
        self._paced_seen: dict[str, float] = {}
        self._claiming = asyncio.Lock()
        self.sent_count = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Send whatever falls due until ``stop`` is set; sends under way then finish."""
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while not stop.is_set():
            self._wake.clear()
            try:
                if loop.time() - renewed > self.lease.total_seconds() / 6:
                    await self.renew_claims()
                    if not self.db.is_sqlite:  # a worker beside us that died: at once
                        await self.release_claims()
                    renewed = loop.time()
                started = await self.top_up()
            except Exception as exc:
                started = 0
                if is_outage(exc):  # said once; wait for the database rather than spin
                    self.db.outage.noticed(exc)
                    await first_of(self.db.outage.back(), stop.wait())
                    continue
                log.exception("the dispatcher could not claim work; trying again shortly")
            if started:
                continue
            await first_of(self._wake.wait(), stop.wait(), within=poll_seconds)
        await self.inflight.wait()

    async def drain(self, deadline: float | None = None) -> int:
        """Send everything due now and wait for it (tests, benchmarks, the end of input).
        With ``deadline`` (the loop's time), stop claiming then; the rest stays in the outbox."""
        loop = asyncio.get_running_loop()
        total = 0
        while True:
            if deadline is not None and loop.time() >= deadline:
                break
            started = await self.top_up(eager=True)
            total += started
            if len(self.inflight):
                await self._one_finished()
            elif not started:
                break
        await self.inflight.wait()
        return total

    async def _one_finished(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):  # a send may end between the check and here
            await asyncio.wait_for(self._wake.wait(), 0.05)

    async def top_up(self, *, eager: bool = False) -> int:
        """Claim due rows for the free slots of each lane and start sending them."""
        started = 0
        async with self._claiming:
            for lane in Lane:
                free = self.capacity[lane] - self.busy[lane]
                if free <= 0 or (not eager and self.busy[lane] and free < self.capacity[lane] // 4):
                    continue  # top up in handfuls, not one claim per finished send
                claimed = await self._claim(lane, free)
                if claimed is None:
                    continue
                rows, context, uncertain = claimed
                for row in rows:
                    self.busy[lane] += 1
                    self.sending.add(row.id)
                    self.inflight.spawn(
                        self._one(row, context, row.id in uncertain, lane), f"send:{row.id}"
                    )
                started += len(rows)
        return started

    async def _claim(
        self, lane: Lane, limit: int
    ) -> tuple[list[Delivery], BatchContext, set[int]] | None:
        """Rows due in ``lane`` (and rows whose claim ran out), claimed for this process."""
        now = self.clock.now()
        due = or_(
            and_(
                Delivery.status == DeliveryStatus.PENDING.value,
                Delivery.next_attempt_at <= now,
            ),
            and_(
                Delivery.status == DeliveryStatus.SENDING.value,
                Delivery.claimed_until < now,
                Delivery.id.not_in(self.sending) if self.sending else true(),
            ),
        )
        async with self.db.session() as s:
            # PostgreSQL: rows another worker is claiming right now are skipped, not waited
            # for (SQLite ignores FOR UPDATE: it has one process and one writer).
            rows = list(
                (
                    await s.scalars(
                        select(Delivery)
                        .where(Delivery.lane == int(lane), due)
                        .order_by(Delivery.next_attempt_at, Delivery.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            if not rows:
                return None
            taken = set(
                (
                    await s.scalars(
                        update(Delivery)
                        .where(Delivery.id.in_([r.id for r in rows]), due)
                        .values(
                            status=DeliveryStatus.SENDING.value,
                            claimed_by=self.worker,
                            claimed_at=now,
                            claimed_until=now + self.lease,
                        )
                        .returning(Delivery.id)
                        .execution_options(synchronize_session=False)
                    )
                ).all()
            )
        rows = [r for r in rows if r.id in taken]  # another dispatcher may have been quicker
        if not rows:
            return None
        uncertain = {r.id for r in rows if r.status == DeliveryStatus.SENDING.value}
        if uncertain:
            log.info("%d sends whose outcome was never recorded are tried again", len(uncertain))
        if lane is Lane.WEBHOOKS:  # their bodies are read as each is sent
            return rows, BatchContext(), uncertain
        async with self.db.session() as s:
            context = await self.renderer.context(s, rows, self.preference)
            if lane is Lane.REPLIES:
                files = (
                    await s.scalars(
                        select(OutboxFile)
                        .where(OutboxFile.delivery_id.in_([r.id for r in rows]))
                        .order_by(OutboxFile.id)
                    )
                ).all()
                for file in files:
                    context.files.setdefault(file.delivery_id, []).append(file)
        return rows, context, uncertain

    async def _one(self, row: Delivery, context: BatchContext, uncertain: bool, lane: Lane) -> None:
        try:
            with log_context(delivery_id=row.id, member_id=row.member_id):
                values = await self._attempt(row, context, uncertain)
            if uncertain:  # the lost try counts: the next one still looks before it posts
                values["attempts"] = max(int(values.get("attempts", 0)), row.attempts + 1)
            await self.journal.record(row.id, values)
        except Exception:
            log.exception("delivery %s: its outcome could not be recorded", row.id)
        finally:
            self.busy[lane] -= 1
            self.sending.discard(row.id)
            self._wake.set()

    async def _attempt(
        self, row: Delivery, context: BatchContext, uncertain: bool
    ) -> dict[str, Any]:
        now = self.clock.now()
        attempt = row.attempts + uncertain
        if row.kind == DeliveryKind.REPLY.value:
            return await self._reply(row, context, attempt, now)
        if row.kind == DeliveryKind.WEBHOOK.value:
            if self.webhooks is None:
                return later(now + self.lease, "webhooks are not sent by this process")
            return await self.webhooks.attempt(row, now)
        try:
            plan = self.renderer.plan(row, context)
        except Rejected as exc:
            return given_up(str(exc))
        if plan is None:  # no longer needed (answered meanwhile)
            return {**RELEASED, "status": DeliveryStatus.CANCELLED.value, "next_attempt_at": None}
        port = self.ports.get(plan.platform)
        if port is None:
            return given_up(f"no {plan.platform} adapter is running")
        blocked = self._blocked_until.get(plan.platform)
        if blocked and blocked > now:
            return later(blocked, row.last_error)
        started = time.monotonic()
        try:
            sent = await port.send(plan.destination, replace(plan.message, attempt=attempt))
        except Exception as exc:
            return self._failed(row, plan.platform, exc, now)
        finally:
            self._paced(port)
        self._took(plan.platform, started)
        await self._attachments(row, port, plan)
        self.sent_count += 1
        values = self._sent(row, port.platform, sent.sent_at or now)
        values.update(
            address=sent.address or plan.destination.target,
            message_ref=sent.message_ref,
            thread_ref=sent.thread_ref,
        )
        if row.kind == DeliveryKind.PROMPT.value and row.member_id and plan.remind_after:
            values["remind_at"] = values["sent_at"] + timedelta(minutes=plan.remind_after)
        if row.kind == DeliveryKind.PROMPT.value and row.member_id and plan.turn:
            values["turn_until"] = values["sent_at"] + plan.turn
        return values

    async def _reply(
        self, row: Delivery, context: BatchContext, attempt: int, now: datetime
    ) -> dict[str, Any]:
        to, reply = reply_of(row.payload or {}, context.files.get(row.id, []))
        port = self.ports.get(to.platform)
        if port is None:
            return given_up(f"no {to.platform} adapter is running")
        started = time.monotonic()
        try:
            sent = await port.reply(to, reply, key=row.dedupe_key, attempt=attempt)
        except Exception as exc:
            return self._failed(row, to.platform, exc, now)
        finally:
            self._paced(port)
        self._took(to.platform, started)
        self.sent_count += 1
        values = self._sent(row, port.platform, sent.sent_at or now)
        values.update(address=sent.address or to.channel, message_ref=sent.message_ref)
        return values

    def _sent(self, row: Delivery, platform: str, sent_at: datetime) -> dict[str, Any]:
        return {
            **RELEASED,
            "status": DeliveryStatus.SENT.value,
            "sent_at": sent_at,
            "platform": platform,
            "attempts": row.attempts + 1,
            "next_attempt_at": None,
            "last_error": None,
        }

    def _took(self, platform: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.sent(platform, time.monotonic() - started)

    def _paced(self, port: ChatPort) -> None:
        """What the port's own pacing held its calls back since the last look (metrics)."""
        if self.metrics is None or not isinstance(port, Paced):
            return
        total = port.paced_seconds
        self.metrics.paced(port.platform, total - self._paced_seen.get(port.platform, 0.0))
        self._paced_seen[port.platform] = total

    def _failed(
        self, row: Delivery, platform: str, exc: BaseException, now: datetime
    ) -> dict[str, Any]:
        if self.metrics is not None:
            if isinstance(exc, RateLimited):
                self.metrics.rate_limited(platform, exc.retry_after)
            elif not isinstance(exc, Unreachable):
                self.metrics.send_failed(platform)
        if isinstance(exc, RateLimited):  # everything to this platform waits as asked
            until = now + timedelta(seconds=max(exc.retry_after, 0.05))
            self._blocked_until[platform] = max(until, self._blocked_until.get(platform, until))
        elif not isinstance(exc, PlatformError | Rejected | OSError | TimeoutError):
            log.error("delivery %s: unexpected error from %s", row.id, platform, exc_info=exc)
        return outcome(
            self.retry,
            exc,
            delivery_id=row.id,
            attempts=row.attempts,
            scheduled_at=row.scheduled_at,
            now=now,
        )

    async def _attachments(self, row: Delivery, port: ChatPort, plan: Plan) -> None:
        for attachment in plan.attachments:
            try:
                await port.upload(plan.destination, attachment, attachment.title)
            except Exception as exc:  # the message itself went out: do not send it again
                log.warning(
                    "delivery %s: %s was not uploaded: %s", row.id, attachment.filename, exc
                )

    async def close(self) -> None:
        if self.webhooks is not None and self.webhooks.poster is not None:
            await self.webhooks.poster.close()

    async def renew_claims(self) -> None:
        """Keep this worker's claims while their sends are under way (a paced send may take
        longer than the lease); a dead worker's lapse, and another worker takes them back."""
        if any(self.busy.values()):
            await claims.renew(self.db, self.worker, self.clock.now() + self.lease)

    async def release_claims(self) -> int:
        """At start: claims left by a process that died are taken back at once."""
        return await claims.release(self.db, self.clock.now())
