"""Stars by reaction: backbone staff put ⭐ on a member's answer and the digest leads with it.

A reaction is a light signal, so this never says anything back: not to a member whose ⭐ means
nothing to the digest, not on a message that is not an answer. Staff see their own ⭐.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.domain.values import Role
from bot.events import STAR, Reacted, Retracted
from bot.storage import models as m
from bot.storage.records import CheckIn


async def on_reaction(s: AsyncSession, member: m.Member | None, event: Reacted | Retracted) -> None:
    if isinstance(event, Retracted):
        # Matrix takes a reaction back by redacting it (its sender or a room moderator):
        # the ⭐ is gone, whoever removed it, so what it starred is starred no more.
        for checkin in (
            await s.scalars(select(CheckIn).where(CheckIn.starred_ref == event.target))
        ).all():
            checkin.starred, checkin.starred_ref = False, None
            await _record(s, member, event, "unstar", checkin)
        return
    if event.key != STAR or member is None or not Role(member.role).is_staff:
        return
    found = (
        await s.scalars(
            select(CheckIn).where(
                CheckIn.event_ref == event.message_ref, CheckIn.platform == event.platform
            )
        )
    ).all()
    for checkin in found:
        was = checkin.starred
        if event.removed:
            checkin.starred, checkin.starred_ref = False, None
        else:
            checkin.starred, checkin.starred_ref = True, event.event_id
        if checkin.starred != was:
            await _record(s, member, event, "star" if checkin.starred else "unstar", checkin)


async def _record(
    s: AsyncSession,
    member: m.Member | None,
    event: Reacted | Retracted,
    action: str,
    checkin: CheckIn,
) -> None:
    """Whoever took a ⭐ back may be no member (a Matrix room moderator): named by account."""
    await audit.record(
        s,
        at=event.at,
        actor_member_id=member.id if member else None,
        actor=member.handle if member else f"{event.platform}:{event.sender}",
        action=action,
        object_kind="checkin",
        object_id=str(checkin.id),
        detail={"via": "reaction"},
    )
