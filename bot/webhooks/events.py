"""Which events exist, and how one becomes outbox rows: one per endpoint that takes it.

An event is enqueued in the transaction that made it happen (a check-in stored, a figure
changed, a digest run created), so it is sent if and only if that commit happened, and a
crash loses nothing. A row names the object the event is about, never its text: the body is
read when it is sent (``bot.webhooks.body``), so an answer its author erased meanwhile is not
sent, and several edits waiting together go out as one event with the latest words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.values import DeliveryKind, DeliveryStatus, Lane
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.records import Delivery, Webhook
from bot.webhooks.rules import EVENTS, WebhookEvent

OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value)


def prefix(endpoint_id: int) -> str:
    """Every outbox row of an endpoint has a dedupe key starting with this."""
    return f"w:{endpoint_id}:"


def endpoint_of(row: Delivery) -> int:
    return int((row.payload or {}).get("endpoint", 0))


async def listening(s: AsyncSession, event: WebhookEvent) -> list[tuple[int, bool]]:
    """The endpoints that take ``event`` (id, active): a disabled one keeps its events."""
    found = (
        await s.execute(
            select(Webhook.id, Webhook.active, Webhook.events).where(Webhook.removed_at.is_(None))
        )
    ).all()
    return [(i, active) for i, active, events in found if event.value in (events or EVENTS)]


async def enqueue(
    s: AsyncSession,
    now: datetime,
    event: WebhookEvent,
    subjects: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    coalesce: bool = False,
    only: int | None = None,
) -> int:
    """Add ``event`` for each subject (its key, what the row names) and each endpoint.

    A subject's key makes a repeat harmless (``checkin:12`` is stored once). ``coalesce``:
    when the same endpoint still has the same event about the same subject waiting, nothing
    is added (the body is read at send time, so the waiting row already says the latest).
    """
    items = list(subjects)
    endpoints = [(only, True)] if only is not None else await listening(s, event)
    if not items or not endpoints:
        return 0
    waiting: set[str] = set()
    if coalesce:
        waiting = {
            key.split("@", 1)[0]
            for key in (
                await s.scalars(
                    select(Delivery.dedupe_key).where(
                        Delivery.kind == DeliveryKind.WEBHOOK.value,
                        Delivery.status.in_(OPEN),
                        Delivery.lane == int(Lane.WEBHOOKS),
                    )
                )
            ).all()
        }
    rows = []
    for endpoint, active in endpoints:
        for key, subject in items:
            base = f"{prefix(endpoint)}{event.value}:{key}"
            if coalesce and base in waiting:
                continue
            dedupe = f"{base}@{now.isoformat()}" if coalesce else base
            rows.append(_row(dedupe, endpoint, active, event, subject, now))
    return await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")


def _row(
    dedupe: str,
    endpoint: int,
    active: bool,
    event: WebhookEvent,
    subject: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "dedupe_key": dedupe[:255],
        "kind": DeliveryKind.WEBHOOK.value,
        "lane": int(Lane.WEBHOOKS),
        "platform": "webhook",
        "scheduled_at": now,
        "next_attempt_at": now if active else None,
        "status": (DeliveryStatus.PENDING if active else DeliveryStatus.HELD).value,
        "attempts": 0,
        "reminders_sent": 0,
        "period_key": "",
        "occurrence": "",
        "locale": "",
        "payload": {"endpoint": endpoint, "event": event.value, **subject},
        "created_at": now,
    }


async def checkins_changed(
    s: AsyncSession,
    now: datetime,
    *,
    stored: Iterable[int] = (),
    edited: Iterable[int] = (),
    figures: Iterable[tuple[int, str, int]] = (),
) -> None:
    """What a batch of answers did: check-ins stored or edited, and the figures (measure,
    period, organisation) they reported."""
    await enqueue(
        s, now, WebhookEvent.CHECKIN_STORED, ((f"checkin:{i}", {"checkin": i}) for i in stored)
    )
    await enqueue(
        s,
        now,
        WebhookEvent.CHECKIN_EDITED,
        ((f"checkin:{i}", {"checkin": i}) for i in edited),
        coalesce=True,
    )
    await enqueue(
        s,
        now,
        WebhookEvent.MEASURE_CHANGED,
        (
            (f"measure:{mid}:{period}:{oid}", {"measure": mid, "period": period, "org": oid})
            for mid, period, oid in dict.fromkeys(figures)
        ),
        coalesce=True,
    )


async def checkins_deleted(
    s: AsyncSession, now: datetime, ids: Iterable[int], reason: str = "erased"
) -> None:
    """Check-ins gone for good: receivers are asked to drop their copies (ids only)."""
    found = sorted(set(ids))
    if found:
        key = f"checkins:{found[0]}-{found[-1]}:{len(found)}@{now.isoformat()}"
        await enqueue(
            s, now, WebhookEvent.CHECKIN_DELETED, [(key, {"checkins": found, "reason": reason})]
        )


async def digest_produced(
    s: AsyncSession, now: datetime, digest: str, kind: str, period: str
) -> None:
    """A scheduled digest's run for ``period``: once per period, whatever the zones."""
    subject = {"digest": digest, "digest_kind": kind, "period": period}
    await enqueue(s, now, WebhookEvent.DIGEST_PRODUCED, [(f"{digest}:{period}", subject)])


async def checkin_unshared(s: AsyncSession, now: datetime, checkin: int) -> None:
    """Staff endpoints see it edited; a reader's is told to drop it (``bot.webhooks.body``)."""
    subject = {"checkin": checkin, "unshared": True}
    await enqueue(
        s, now, WebhookEvent.CHECKIN_EDITED, [(f"checkin:{checkin}", subject)], coalesce=True
    )
