"""What a webhook says, read from the database when it is sent.

The shapes are the read-only API's (``bot/api/schema.py``, documented in its OpenAPI), and so
are the rules of what a role sees: a ``reader`` endpoint gets shared check-ins only and never
who answered. ``None`` means there is nothing to send any more (the check-in was erased, or
is not shared and the endpoint is a reader's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api import figures, lists
from bot.api.params import PageRequest
from bot.api.tokens import Caller, Role
from bot.domain.periods import Period
from bot.storage import models as m
from bot.storage.records import CheckIn
from bot.webhooks.rules import WebhookEvent

Json = dict[str, Any]


def envelope(delivery_id: int, event: str, created_at: datetime, data: Json) -> Json:
    return {
        "id": f"evt_{delivery_id}",
        "event": event,
        "created_at": created_at.isoformat(),
        "data": data,
    }


async def data_of(
    s: AsyncSession, payload: Json, role: Role, name: str
) -> tuple[WebhookEvent, Json] | None:
    """The event to send and what it says."""
    event = WebhookEvent(payload.get("event", WebhookEvent.PING.value))
    if event in (WebhookEvent.CHECKIN_STORED, WebhookEvent.CHECKIN_EDITED):
        caller = Caller(0, name, role)
        checkin = int(payload["checkin"])
        only = lists.CheckInFilter(shared_only=role is Role.READER, ids=(checkin,))
        page = await lists.checkins(s, caller, only, PageRequest(0, 1))
        if page.items:
            return event, page.items[0].model_dump(mode="json")
        if payload.get("unshared") and await s.get(CheckIn, checkin) is not None:
            gone = {"checkins": [checkin], "reason": "unshared"}
            return WebhookEvent.CHECKIN_DELETED, gone  # a reader's copy is no longer allowed
        return None
    if event is WebhookEvent.CHECKIN_DELETED:
        data = {"checkins": list(payload.get("checkins", [])), "reason": payload.get("reason")}
        return event, data
    if event is WebhookEvent.MEASURE_CHANGED:
        found = await _measure(s, payload)
        return None if found is None else (event, found)
    if event is WebhookEvent.DIGEST_PRODUCED:
        return event, await _digest(s, payload)
    return event, {"message": "ping from alliance-bot"}


async def _measure(s: AsyncSession, payload: Json) -> Json | None:
    measure_id = int(payload["measure"])
    period = Period.parse_key(str(payload["period"]))
    org = await s.scalar(
        select(m.Organisation.slug).where(m.Organisation.id == int(payload.get("org", 0)))
    )
    found = await figures.measures(s, [period], None, PageRequest(measure_id - 1, 1))
    if not found.items or found.items[0].id != measure_id:
        return None  # the measure was retired meanwhile
    return {"organisation": org, "measure": found.items[0].model_dump(mode="json")}


async def _digest(s: AsyncSession, payload: Json) -> Json:
    period = Period.parse_key(str(payload["period"]))
    rates = []
    after = 0
    while True:  # every organisation: an alliance has hundreds at most
        page = await figures.response_rates(s, [period], None, PageRequest(after, 500))
        rates += [r.model_dump(mode="json") for r in page.items]
        if page.after is None:
            break
        after = page.after
    return {
        "digest": payload.get("digest"),
        "kind": payload.get("digest_kind"),
        "period": period.key,
        "response_rates": rates,
    }
