"""Turn the curve: when a measure stays behind its target, the organisations that report it
are asked results-based accountability's four questions, in their language.

A measure is behind in a period when the alliance's figure for it (the digest's: the latest
correction of each organisation's figure, summed, or averaged for a mean measure) is below its
target for one period. Only periods closed for a week count (figures come in after a period
ends). When the last ``curve_after`` such periods were all behind, each organisation that
reported the measure in them gets the four questions as one conversation, at most once per
measure and quarter (``curve_exercises``' unique key). A period nobody reported is not behind:
silence is the digest's "not answered", not a curve.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import take_turns
from bot.digest.measures import GRACE, latest_figures
from bot.domain.periods import Period
from bot.domain.values import Aggregation, DeliveryKind, DeliveryStatus, PeriodKind
from bot.i18n import Number, _
from bot.notices import stored
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.insight import CurveExercise
from bot.storage.records import Delivery

log = logging.getLogger(__name__)
QUESTIONS = ("curve-story", "curve-partners", "curve-what-works", "curve-next-action")


def closed_periods(today: date, kind: PeriodKind, count: int) -> list[Period]:
    """The last ``count`` periods of ``kind`` that ended at least a week before ``today``,
    oldest first."""
    period = Period.containing(today, kind).previous()
    while period.end + GRACE > today:
        period = period.previous()
    found = [period]
    while len(found) < count:
        found.insert(0, found[0].previous())
    return found


def behind_in_a_row(figures: Sequence[float | None], target: float | None) -> bool:
    """Every period has a figure, and each is below the target."""
    if target is None or target <= 0 or not figures:
        return False
    return all(f is not None and f < target for f in figures)


def quarter_of(day: date) -> str:
    return Period.containing(day, PeriodKind.QUARTER).key


def total(aggregation: Aggregation, values: Sequence[float]) -> float | None:
    if not values:
        return None
    return sum(values) / len(values) if aggregation is Aggregation.MEAN else sum(values)


async def sweep(s: AsyncSession, now: datetime) -> int:
    """Send the exercises now due; returns the questions queued. Safe to run often: a
    measure, organisation and quarter is asked once."""
    meta = await s.get(m.Alliance, 1)
    if meta is None or not meta.curve_after:
        return 0
    today = now.astimezone(ZoneInfo(meta.default_timezone)).date()
    created = 0
    measures = (
        await s.scalars(select(m.Measure).where(m.Measure.active, m.Measure.target.is_not(None)))
    ).all()
    for measure in measures:
        periods = closed_periods(today, PeriodKind(measure.period), meta.curve_after)
        keys = [p.key for p in periods]
        figures = latest_figures(measure.id, keys)
        rows = (
            await s.execute(
                select(figures.c.organisation_id, figures.c.period_key, figures.c.answer_number)
            )
        ).all()
        aggregation = Aggregation(measure.aggregation)
        by_period = [
            total(aggregation, [float(v) for _, key, v in rows if key == k and v is not None])
            for k in keys
        ]
        if not behind_in_a_row(by_period, measure.target):
            continue
        reporters = sorted({int(org) for org, _, _ in rows})
        about = _(
            "{measure}: {figure} in {period}, below the target of {target}.",
            measure=measure.name,
            figure=Number(by_period[-1] or 0),
            period=keys[-1],
            target=Number(measure.target or 0),
        )
        for org in reporters:
            created += await _ask(s, now, measure, org, keys[-1], quarter_of(today), about)
    if created:
        await take_turns(s, now)
    return created


async def _ask(
    s: AsyncSession,
    now: datetime,
    measure: m.Measure,
    org: int,
    period_key: str,
    quarter: str,
    about: Any,
) -> int:
    taken = await s.scalar(
        select(func.count(CurveExercise.id)).where(
            CurveExercise.measure_id == measure.id,
            CurveExercise.organisation_id == org,
            CurveExercise.quarter == quarter,
        )
    )
    if taken:
        return 0
    s.add(
        CurveExercise(
            measure_id=measure.id,
            organisation_id=org,
            quarter=quarter,
            period_key=period_key,
            created_at=now,
        )
    )
    members = (
        await s.execute(
            select(m.Member.id, m.Member.locale).where(
                m.Member.organisation_id == org, m.Member.active, m.Member.reporting
            )
        )
    ).all()
    if not members:  # nobody reports for it: whoever is there
        members = (
            await s.execute(
                select(m.Member.id, m.Member.locale).where(
                    m.Member.organisation_id == org, m.Member.active
                )
            )
        ).all()
    rows = [
        {
            "dedupe_key": f"c:{measure.id}:{org}:{quarter}:{question}:m{member}",
            "kind": DeliveryKind.PROMPT.value,
            "prompt_id": question,
            "member_id": member,
            "organisation_id": org,
            "period_key": period_key,
            "occurrence": quarter,
            "locale": locale or "",
            "scheduled_at": now,
            "next_attempt_at": now,
            "status": DeliveryStatus.QUEUED.value,
            "attempts": 0,
            "reminders_sent": 0,
            "payload": {"curve": measure.id, "about": stored(about)},
            "created_at": now,
        }
        for member, locale in members
        for question in QUESTIONS
    ]
    log.info(
        "measure %s is behind: a turn-the-curve exercise for organisation %s", measure.key, org
    )
    return await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")
