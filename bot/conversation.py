"""One question at a time: a member's prompts form one conversation, as standup bots do.

The planner stores a member's prompts ``queued``. A member has at most one question *holding*
their conversation: a prompt of theirs being sent, or sent and neither answered, skipped nor
left unanswered past its ``turn_until``. When none holds it, their earliest queued question is
made ``pending`` and the outbox asks it. So two prompts due together arrive one after the other:
the second right after the first is answered or skipped, or once the member has let the first
go unanswered through its reminders (the conversation moves on; the first stays open for a
late answer, and the reminders already spent count for the whole conversation).

The rules are here; :func:`take_turns` is the one place that runs them against the outbox. It
runs where a turn ends (an answer, a skip: in that transaction, so the next question leaves at
once), where questions are queued (the planner), and on every scheduler sweep (turns that ran
out). Running it twice, or from two workers, asks nothing twice: a member with a question
pending already has their turn taken.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.scheduling.absence import away_on
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery

QUIET_TURN = timedelta(hours=4)
"""How long an unanswered question holds the conversation when its campaign sends no reminders."""
SHORTEST_TURN = timedelta(minutes=30)


def turn_length(remind_after: int | None, reminders: int) -> timedelta:
    """How long a question waits for its answer before the next one is asked: through all its
    reminders and one more interval, or :data:`QUIET_TURN` without reminders."""
    if not remind_after:
        return QUIET_TURN
    return max(SHORTEST_TURN, timedelta(minutes=remind_after * (reminders + 1)))


def _holds(other: type[Delivery], now: datetime) -> ColumnElement[bool]:
    """Whether ``other`` (a member's prompt) holds that member's conversation at ``now``."""
    answered = exists().where(CheckIn.delivery_id == other.id)
    return and_(
        other.kind == DeliveryKind.PROMPT.value,
        or_(
            other.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]),
            and_(
                other.status == DeliveryStatus.SENT.value,
                other.turn_until.is_not(None),
                other.turn_until > now,
                ~answered,
            ),
        ),
    )


async def end_turns(s: AsyncSession, delivery_ids: Collection[int]) -> None:
    """These prompts no longer hold their members' conversations (answered or skipped)."""
    if delivery_ids:
        await s.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(delivery_ids)), Delivery.turn_until.is_not(None))
            .values(turn_until=None)
            .execution_options(synchronize_session=False)
        )


async def take_turns(s: AsyncSession, now: datetime, members: Collection[int] | None = None) -> int:
    """Ask each member's next queued question where nothing holds their conversation (only
    ``members``, if given); returns how many questions were made ready to send."""
    carried = await _ran_out(s, now, members)
    await _pass_by_the_away(s, now, members)
    other = aliased(Delivery)
    where = [
        Delivery.status == DeliveryStatus.QUEUED.value,
        Delivery.member_id.is_not(None),
        Delivery.next_attempt_at <= now,
        ~exists().where(other.member_id == Delivery.member_id, _holds(other, now)),
    ]
    if members is not None:
        if not members:
            return 0
        where.append(Delivery.member_id.in_(list(members)))
    first = (
        await s.execute(
            select(Delivery.member_id, func.min(Delivery.id))
            .where(*where)
            .group_by(Delivery.member_id)
        )
    ).all()
    if not first:
        return 0
    by_count: dict[int, list[int]] = defaultdict(list)
    for member_id, delivery_id in first:
        by_count[carried.get(int(member_id or 0), 0)].append(int(delivery_id))
    for spent, ids in by_count.items():
        await s.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.QUEUED.value)
            .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, reminders_sent=spent)
            .execution_options(synchronize_session=False)
        )
    return len(first)


async def _pass_by_the_away(
    s: AsyncSession, now: datetime, members: Collection[int] | None
) -> None:
    """Questions queued before an absence began are not asked during it: skipped, as the
    planner skips the runs of an away day (counted neither answered nor missing)."""
    away = select(m.Member.id).where(away_on(now.date()))
    if members is not None:
        away = away.where(m.Member.id.in_(list(members)))
    await s.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.QUEUED.value, Delivery.member_id.in_(away))
        .values(status=DeliveryStatus.SKIPPED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


async def _ran_out(
    s: AsyncSession, now: datetime, members: Collection[int] | None
) -> dict[int, int]:
    """Close the turns that ran out unanswered; returns, by member, the reminders they already
    had in this conversation (the next question does not start the count again)."""
    where = [
        Delivery.kind == DeliveryKind.PROMPT.value,
        Delivery.turn_until.is_not(None),
        Delivery.turn_until <= now,
    ]
    if members is not None:
        where.append(Delivery.member_id.in_(list(members)))
    spent = {
        int(member_id): int(count or 0)
        for member_id, count in (
            await s.execute(
                select(Delivery.member_id, func.max(Delivery.reminders_sent))
                .where(*where)
                .group_by(Delivery.member_id)
            )
        ).all()
        if member_id is not None
    }
    if spent:
        await s.execute(
            update(Delivery)
            .where(*where)
            .values(turn_until=None)
            .execution_options(synchronize_session=False)
        )
    return spent


async def waiting_after(s: AsyncSession, member_ids: Collection[int]) -> dict[int, int]:
    """How many questions each member still has queued (said with the one being asked)."""
    if not member_ids:
        return {}
    rows = await s.execute(
        select(Delivery.member_id, func.count(Delivery.id))
        .where(
            Delivery.member_id.in_(list(member_ids)),
            Delivery.status == DeliveryStatus.QUEUED.value,
        )
        .group_by(Delivery.member_id)
    )
    return {int(member_id or 0): int(count) for member_id, count in rows.all()}


async def queued_in(s: AsyncSession, chunk: list[dict[str, Any]], now: datetime) -> None:
    """A planner's rows just written: an older run's questions still waiting are replaced,
    and members with nothing in hand get their first one asked now."""
    queued = [r for r in chunk if r["status"] == DeliveryStatus.QUEUED.value]
    if queued:
        run = queued[0]
        await supersede(s, run["campaign_id"], run["occurrence"], {r["prompt_id"] for r in queued})
        await take_turns(s, now, {r["member_id"] for r in queued})


async def supersede(
    s: AsyncSession, campaign_id: int, occurrence: str, prompt_ids: Collection[str]
) -> None:
    """A newer run of the same question replaces one still queued from an earlier run: a member
    who stays silent gets this run's conversation, not a growing backlog of old ones."""
    newer = aliased(Delivery)
    await s.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.QUEUED.value,
            Delivery.campaign_id == campaign_id,
            Delivery.prompt_id.in_(list(prompt_ids)),
            Delivery.occurrence != occurrence,
            exists().where(
                newer.campaign_id == campaign_id,
                newer.prompt_id == Delivery.prompt_id,
                newer.member_id == Delivery.member_id,
                newer.occurrence == occurrence,
            ),
        )
        .values(status=DeliveryStatus.MISSED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
