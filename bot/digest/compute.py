"""One digest value for a period, computed with SQL aggregates (never row by row in Python)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.highlights import exercise_groups, highlights
from bot.digest.measures import measure_figures, measure_periods, reporting_rates
from bot.digest.model import Digest, OrgResponse, Partnerships, Pending, PendingSummary
from bot.domain.periods import Period
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.insight.sections import curves_for, partnerships_for, themes_for
from bot.reach import unreachable
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery

QUIET_PERIODS = 2
"""An organisation that had prompts but answered none in each of this many periods is quiet."""
NAMED_PENDING = 60
"""Up to this many people who have not answered are named in the digest; beyond, numbers."""
MOST_BEHIND = 10
"""Organisations listed as most behind when the digest gives numbers instead of names."""

__all__ = ["compute_digest", "measure_periods", "response_rates", "window"]


def window(period: Period, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(period.start, time(), tz), datetime.combine(period.end, time(), tz))


def prompts_in(start: datetime, end: datetime) -> Any:
    """The prompts a response rate counts: sent to a member in the window."""
    return and_(
        Delivery.kind == DeliveryKind.PROMPT.value,
        Delivery.member_id.is_not(None),
        Delivery.status == DeliveryStatus.SENT.value,
        Delivery.scheduled_at >= start,
        Delivery.scheduled_at < end,
    )


_ANSWERED = and_(CheckIn.delivery_id == Delivery.id, CheckIn.member_id == Delivery.member_id)


async def answered_in(s: AsyncSession, start: datetime, end: datetime) -> Any | None:
    """How a prompt of the window meets its answer, or None when the window has no prompt.

    The answers are also bounded by the lowest and highest delivery id of the window (an
    index range): joined on the delivery alone, PostgreSQL would read every check-in ever
    stored into a hash, and a digest would grow with all of history, not with the period.
    """
    # ``id + 0``: min(id) alone would be planned as a walk up the primary key from the first
    # delivery ever made until one falls in the window; this reads the window's range.
    in_window = select(func.min(Delivery.id + 0), func.max(Delivery.id + 0))
    low, high = (await s.execute(in_window.where(prompts_in(start, end)))).one()
    if low is None:
        return None
    return and_(_ANSWERED, CheckIn.delivery_id >= low, CheckIn.delivery_id <= high)


async def _rates(
    s: AsyncSession, start: datetime, end: datetime, org_filter: list[Any]
) -> dict[str, tuple[str, int, int]]:
    answered = await answered_in(s, start, end)
    if answered is None:
        return {}
    rows = (
        await s.execute(
            select(
                m.Organisation.slug,
                m.Organisation.name,
                func.count(Delivery.id),
                func.count(CheckIn.id),
            )
            .join(
                Delivery,
                and_(Delivery.organisation_id == m.Organisation.id, prompts_in(start, end)),
            )
            .outerjoin(CheckIn, answered)
            .where(m.Organisation.active, *org_filter)
            .group_by(m.Organisation.slug, m.Organisation.name)
        )
    ).all()
    return {slug: (name, int(d), int(a)) for slug, name, d, a in rows}


async def response_rates(
    s: AsyncSession, period: Period, zone: str, organisation: str | None = None
) -> dict[str, tuple[str, int, int]]:
    """(name, prompts sent, answered) by organisation slug for ``period``: the figures of the
    digest's response by organisation (the heat map shows them week by week)."""
    org_filter = [m.Organisation.slug == organisation] if organisation else []
    return await _rates(s, *window(period, zone), org_filter)


async def compute_digest(
    s: AsyncSession,
    period: Period,
    organisation: str | None = None,
    *,
    quiet_periods: int = QUIET_PERIODS,
) -> Digest:
    meta = await s.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    start, end = window(period, zone)
    org_filter = [m.Organisation.slug == organisation] if organisation else []
    current = await _rates(s, start, end, org_filter)
    before = period.previous()
    previous = await _rates(s, *window(before, zone), org_filter)
    quiet = await _quiet(s, period, zone, org_filter, [current, previous], quiet_periods)
    responses = tuple(
        sorted(
            (
                OrgResponse(
                    slug,
                    name,
                    delivered,
                    answered,
                    previous.get(slug, ("", 0, 0))[1],
                    previous.get(slug, ("", 0, 0))[2],
                    quiet=slug in quiet,
                )
                for slug, (name, delivered, answered) in current.items()
            ),
            key=lambda r: r.name,
        )
    )
    found_highlights, starred = await highlights(s, start, end, organisation)
    pending = await pending_people(s, start, end, org_filter)
    summary = summarise(pending)
    return Digest(
        meta.name if meta else "alliance",
        period,
        zone,
        responses,
        await measure_figures(s, period, organisation),
        () if summary else pending,
        organisation
        and await s.scalar(  # its name, as staff read it
            select(m.Organisation.name).where(m.Organisation.slug == organisation)
        ),
        reporting=await reporting_rates(s, period, zone, organisation),
        highlights=found_highlights,
        highlights_are_starred=starred,
        groups=await exercise_groups(s, start, end, organisation),
        unreachable=await unreachable(s, organisation),
        pending_summary=summary,
        names=await _measure_names(s),
        themes=await themes_for(s, start, end, organisation),
        curves=await curves_for(s, start, end),
        partnerships=Partnerships() if organisation else await partnerships_for(s, start, end),
    )


async def _measure_names(s: AsyncSession) -> dict[str, dict[str, str]]:
    """Measure labels given in several languages, by their English."""
    rows = (await s.execute(select(m.Measure.name, m.Measure.names))).all()
    return {name: dict(names) for name, names in rows if names}


async def _quiet(
    s: AsyncSession,
    period: Period,
    zone: str,
    org_filter: list[Any],
    known: list[dict[str, tuple[str, int, int]]],
    periods: int,
) -> set[str]:
    """Organisations that had prompts but answered none, in each of the last ``periods``."""
    quiet: set[str] | None = None
    for index in range(periods):
        rates = (
            known[index]
            if index < len(known)
            else await _rates(s, *window(period, zone), org_filter)
        )
        silent = {
            slug
            for slug, (_, delivered, answered) in rates.items()
            if delivered > 0 and answered == 0
        }
        quiet = silent if quiet is None else quiet & silent
        period = period.previous()
    return quiet or set()


async def pending_people(
    s: AsyncSession, start: datetime, end: datetime, org_filter: list[Any]
) -> tuple[Pending, ...]:
    """Who has not answered, by organisation; for figures, the measure they owe is named."""
    answered = await answered_in(s, start, end)
    if answered is None:
        return ()
    rows = (
        await s.execute(
            select(m.Organisation.name, m.Member.display_name, m.Measure.name)
            .select_from(Delivery)
            .join(m.Member, m.Member.id == Delivery.member_id)
            .join(m.Organisation, m.Organisation.id == Delivery.organisation_id)
            .outerjoin(m.Measure, m.Measure.id == Delivery.measure_id)
            .outerjoin(CheckIn, answered)
            .where(prompts_in(start, end), CheckIn.id.is_(None), *org_filter)
            .distinct()
            .order_by(m.Organisation.name, m.Member.display_name, m.Measure.name)
        )
    ).all()
    grouped: dict[str, list[tuple[str, str]]] = {}
    for org, person, measure in rows:
        entry = (person, measure or "")
        if entry not in grouped.setdefault(org, []):
            grouped[org].append(entry)
    return tuple(Pending(org, tuple(people)) for org, people in grouped.items())


def summarise(pending: tuple[Pending, ...]) -> PendingSummary | None:
    """Numbers instead of names, once more than ``NAMED_PENDING`` people have not answered."""
    people = sum(len(p.people) for p in pending)
    if people <= NAMED_PENDING:
        return None
    behind = sorted(((p.organisation, len(p.people)) for p in pending), key=lambda x: -x[1])
    return PendingSummary(people, len(pending), tuple(behind[:MOST_BEHIND]))
