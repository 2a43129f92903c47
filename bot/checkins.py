"""Finding the prompt an answer belongs to: by its message (one, or a batch's at once), or the
member's latest open one; and who sent a batch, and what they had answered already."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery

OPEN_FOR = timedelta(days=14)


async def delivery_by_ref(s: AsyncSession, platform: str, ref: str) -> Delivery | None:
    """The prompt delivery a platform message belongs to (a reminder leads to its prompt)."""
    return (await prompts_by_ref(s, {(platform, ref)})).get((platform, ref))


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


async def members_by_account(
    s: AsyncSession, accounts: set[tuple[str, str]]
) -> dict[tuple[str, str], m.Member]:
    """Active members by (platform, account)."""
    if not accounts:
        return {}
    rows = await s.execute(
        select(m.Identity.platform, m.Identity.external_id, m.Member)
        .join(m.Member, m.Member.id == m.Identity.member_id)
        .where(
            tuple_(m.Identity.platform, m.Identity.external_id).in_(list(accounts)), m.Member.active
        )
    )
    return {(platform, external): member for platform, external, member in rows.all()}


async def prompts_by_ref(
    s: AsyncSession, refs: set[tuple[str, str]]
) -> dict[tuple[str, str], Delivery]:
    """The prompt each reference points at: its message, its thread, or a reminder's prompt."""
    if not refs:
        return {}
    wanted = list(refs)
    rows = (
        await s.scalars(
            select(Delivery)
            .where(
                or_(
                    tuple_(Delivery.platform, Delivery.message_ref).in_(wanted),
                    and_(
                        tuple_(Delivery.platform, Delivery.thread_ref).in_(wanted),
                        Delivery.kind == DeliveryKind.PROMPT.value,
                    ),
                )
            )
            .order_by(Delivery.id)
        )
    ).all()
    found: dict[tuple[str, str], Delivery] = {}
    for row in rows:
        for key in (
            (row.platform or "", row.message_ref or ""),
            (row.platform or "", row.thread_ref or ""),
        ):
            if key in refs and (key not in found or key[1] == row.message_ref):
                found.setdefault(key, row)
    parents = {d.parent_id for d in found.values() if d.parent_id is not None}
    if parents:
        by_id = {
            d.id: d
            for d in (await s.scalars(select(Delivery).where(Delivery.id.in_(parents)))).all()
        }
        found = {k: by_id.get(d.parent_id, d) if d.parent_id else d for k, d in found.items()}
    return found


async def checkins_by_pair(
    s: AsyncSession, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], CheckIn]:
    """Check-ins by (delivery, member)."""
    if not pairs:
        return {}
    rows = (
        await s.scalars(
            select(CheckIn).where(tuple_(CheckIn.delivery_id, CheckIn.member_id).in_(list(pairs)))
        )
    ).all()
    return {(c.delivery_id or 0, c.member_id): c for c in rows}
