"""Finding the prompt an answer belongs to: by its message, or the member's latest open one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery

OPEN_FOR = timedelta(days=14)


async def delivery_by_ref(s: AsyncSession, platform: str, ref: str) -> Delivery | None:
    """The prompt delivery a platform message belongs to (a reminder leads to its prompt)."""
    row = await s.scalar(
        select(Delivery).where(Delivery.platform == platform, Delivery.message_ref == ref).limit(1)
    )
    if row is None:
        row = await s.scalar(
            select(Delivery)
            .where(
                Delivery.platform == platform,
                Delivery.thread_ref == ref,
                Delivery.kind == DeliveryKind.PROMPT.value,
            )
            .limit(1)
        )
    if row is not None and row.parent_id is not None:
        row = await s.get(Delivery, row.parent_id)
    return row


async def still_open(s: AsyncSession, delivery: Delivery, now: datetime) -> bool:
    """Whether this prompt still takes an answer (or a skip): sent, recent, not answered."""
    if delivery.status != DeliveryStatus.SENT.value or delivery.sent_at is None:
        return False
    if delivery.sent_at < now - OPEN_FOR:
        return False
    answered = await s.scalar(select(CheckIn.id).where(CheckIn.delivery_id == delivery.id).limit(1))
    return answered is None


async def latest_open(
    s: AsyncSession, member: m.Member, now: datetime, platform: str | None = None
) -> Delivery | None:
    """The member's most recent unanswered prompt still open for answers."""
    answered = select(CheckIn.delivery_id).where(
        CheckIn.member_id == member.id, CheckIn.delivery_id.is_not(None)
    )
    query = (
        select(Delivery)
        .where(
            Delivery.member_id == member.id,
            Delivery.kind == DeliveryKind.PROMPT.value,
            Delivery.status == DeliveryStatus.SENT.value,
            Delivery.sent_at >= now - OPEN_FOR,
            Delivery.id.not_in(answered),
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(1)
    )
    if platform is not None:
        query = query.where(Delivery.platform == platform)
    return await s.scalar(query)


async def in_flight(s: AsyncSession, member_id: int) -> bool:
    """Whether a prompt (or reminder) to this member, or to a channel, is being sent now: an
    answer to a message we cannot find yet may be an answer to it."""
    found = await s.scalar(
        select(Delivery.id)
        .where(
            Delivery.status == DeliveryStatus.SENDING.value,
            Delivery.kind.in_([DeliveryKind.PROMPT.value, DeliveryKind.REMINDER.value]),
            or_(Delivery.member_id == member_id, Delivery.member_id.is_(None)),
        )
        .limit(1)
    )
    return found is not None
