"""Organisations and check-ins, a page at a time: ``WHERE id > :after ORDER BY id LIMIT n+1``
on the primary key (or ``ix_checkins_shareable`` for shared ones), so the thousandth page
costs what the first does. Erased check-ins are deleted rows (``bot/privacy``): nothing of
them is left to list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api import schema as api
from bot.api.params import PageRequest
from bot.api.tokens import Caller
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One page, and the id to continue after (None: this is the last page)."""

    items: list[T]
    after: int | None


def cut(rows: Sequence[R], limit: int) -> tuple[list[R], bool]:
    """The page's rows, and whether another page follows (one row more was asked for)."""
    return list(rows[:limit]), len(rows) > limit


def listed(items: list[T], more: bool, last_id: int) -> Listed[T]:
    return Listed(items, last_id if more and items else None)


async def organisations(s: AsyncSession, page: PageRequest) -> Listed[api.Organisation]:
    rows = (
        await s.scalars(
            select(m.Organisation)
            .where(m.Organisation.id > page.after)
            .order_by(m.Organisation.id)
            .limit(page.limit + 1)
        )
    ).all()
    shown, more = cut(rows, page.limit)
    items = [
        api.Organisation(
            id=o.id,
            slug=o.slug,
            name=o.name,
            kind=o.kind,
            country=o.country,
            timezone=o.timezone,
            active=o.active,
        )
        for o in shown
    ]
    return listed(items, more, shown[-1].id if shown else 0)


@dataclass(frozen=True)
class CheckInFilter:
    """What a check-in list is narrowed to; ``shared_only`` for a reader token."""

    shared_only: bool
    organisation: str | None = None
    member: str | None = None
    answered_from: datetime | None = None
    answered_before: datetime | None = None
    ids: tuple[int, ...] | None = None
    """Only these check-ins (a webhook's body)."""

    def where(self) -> list[Any]:
        found: list[Any] = []
        if self.ids is not None:
            found.append(CheckIn.id.in_(self.ids))
        if self.shared_only:
            found.append(CheckIn.shareable.is_(True))
        if self.organisation is not None:
            org = select(m.Organisation.id).where(m.Organisation.slug == self.organisation)
            found.append(CheckIn.organisation_id == org.scalar_subquery())
        if self.member is not None:
            who = select(m.Member.id).where(m.Member.handle == self.member)
            found.append(CheckIn.member_id == who.scalar_subquery())
        if self.answered_from is not None:
            found.append(CheckIn.answered_at >= self.answered_from)
        if self.answered_before is not None:
            found.append(CheckIn.answered_at < self.answered_before)
        return found


async def checkins(
    s: AsyncSession, caller: Caller, narrowed: CheckInFilter, page: PageRequest
) -> Listed[api.CheckIn]:
    query = (
        select(
            CheckIn,
            m.Organisation.slug,
            m.Measure.key,
            m.Member.handle,
            m.Member.display_name,
        )
        .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
        .join(m.Member, m.Member.id == CheckIn.member_id)
        .outerjoin(m.Measure, m.Measure.id == CheckIn.measure_id)
        .where(CheckIn.id > page.after, *narrowed.where())
        .order_by(CheckIn.id)
        .limit(page.limit + 1)
    )
    rows, more = cut((await s.execute(query)).all(), page.limit)
    prompts = await load_prompts(s) if rows else {}
    staff = caller.staff
    found = []
    for c, slug, measure, handle, name in rows:
        prompt = prompts.get(c.prompt_id)
        found.append(
            api.CheckIn(
                id=c.id,
                organisation=slug,
                prompt=c.prompt_id,
                question=prompt.text_for("en") if prompt else c.prompt_id,
                measure=measure,
                period=c.period_key,
                text=c.answer_text,
                number=c.answer_number,
                choice=c.answer_choice,
                answered_at=c.answered_at,
                edited_at=c.edited_at,
                shareable=c.shareable,
                starred=c.starred if staff else None,
                member=api.Member(handle=handle, name=name) if staff else None,
            )
        )
    return listed(found, more, found[-1].id if found else 0)
