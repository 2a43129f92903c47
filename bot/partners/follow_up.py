"""Some weeks after a member named a connection, the bot asks them whether it happened; the
answer (happened, planned, stalled) becomes the connection's state on the map."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.conversation import take_turns
from bot.domain.periods import Period
from bot.domain.values import DeliveryKind, DeliveryStatus, PeriodKind
from bot.i18n import _
from bot.notices import stored
from bot.partners.graph import EdgeState
from bot.storage import models as m
from bot.storage.insight import Partnership
from bot.storage.records import Delivery

PROMPT = "partnership-follow-up"
ASKED = (EdgeState.PROPOSED.value, EdgeState.CONFIRMED.value)
"""Connections a follow-up asks about (a declined reading is not a connection)."""
BATCH = 500


async def sweep(s: AsyncSession, now: datetime) -> int:
    """Queue the follow-ups now due, one per connection; returns how many."""
    meta = await s.get(m.Alliance, 1)
    zone = ZoneInfo(meta.default_timezone if meta else "UTC")
    source, target = aliased(m.Organisation), aliased(m.Organisation)
    due = (
        await s.execute(
            select(Partnership, source.name, target.name, m.Member.locale)
            .join(source, source.id == Partnership.source_org_id)
            .outerjoin(target, target.id == Partnership.target_org_id)
            .join(m.Member, m.Member.id == Partnership.member_id)
            .where(
                Partnership.state.in_(ASKED),
                Partnership.follow_up_at <= now,
                Partnership.follow_up_delivery_id.is_(None),
                m.Member.active,
            )
            .order_by(Partnership.id)
            .limit(BATCH)
        )
    ).all()
    if not due:
        return 0
    week = Period.containing(now.astimezone(zone).date(), PeriodKind.WEEK).key
    members = set()
    for edge, source_name, target_name, locale in due:
        about = _(
            "Connection: {source} and {target}",
            source=source_name,
            target=target_name or edge.target_name,
        )
        delivery = Delivery(
            dedupe_key=f"f:{edge.id}",
            kind=DeliveryKind.PROMPT.value,
            prompt_id=PROMPT,
            member_id=edge.member_id,
            organisation_id=edge.source_org_id,
            period_key=week,
            occurrence=f"follow-up {edge.id}",
            locale=locale or "",
            scheduled_at=now,
            next_attempt_at=now,
            status=DeliveryStatus.QUEUED.value,
            attempts=0,
            reminders_sent=0,
            payload={"partnership": edge.id, "about": stored(about)},
            created_at=now,
        )
        s.add(delivery)
        await s.flush()
        edge.follow_up_delivery_id = delivery.id
        members.add(int(edge.member_id or 0))
    await take_turns(s, now, members)
    return len(due)


async def answered(s: AsyncSession, delivery: Delivery, choice: str | None, now: datetime) -> None:
    """A follow-up's answer sets its connection's state (a changed answer changes it again)."""
    edge_id = (delivery.payload or {}).get("partnership")
    if edge_id is None or choice not in {"happened", "planned", "stalled"}:
        return
    edge = await s.get(Partnership, int(edge_id))
    if edge is not None and edge.state != EdgeState.DECLINED.value:
        edge.state, edge.updated_at = choice, now
