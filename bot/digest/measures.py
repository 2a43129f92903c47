"""Shared measurement in a digest: one figure per organisation and period (the latest
correction wins), aggregated per the measure's rule, against targets, with on-time rates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.model import MeasureFigure, OrgFigure, OrgReporting
from bot.domain.periods import Period
from bot.domain.values import Aggregation, DeliveryKind, DeliveryStatus, PeriodKind
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery

_ORDER = [PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER]
HISTORY = 6
GRACE = timedelta(days=7)
"""A figure is on time when it arrives within a week after its period ends."""


def measure_periods(period: Period, kind: PeriodKind) -> list[Period]:
    """The measure periods a digest period reports on.

    Same kind: that period. A shorter digest (a week, for a monthly measure): the last complete
    measure period before it ends. A longer digest: every measure period inside it.
    """
    if period.kind is kind:
        return [period]
    if period.kind is PeriodKind.RANGE:
        inside, cursor = [], Period.containing(period.start, kind)
        while cursor.start < period.end:
            if cursor.start >= period.start and cursor.end <= period.end:
                inside.append(cursor)
            cursor = cursor.next()
        return inside or [Period.containing(period.end, kind).previous()]
    if _ORDER.index(period.kind) < _ORDER.index(kind):
        return [Period.containing(period.end, kind).previous()]
    found, cursor = [], Period.containing(period.start, kind)
    while cursor.start < period.end:
        found.append(cursor)
        cursor = cursor.next()
    return found


def latest_figures(measure_id: int, keys: Sequence[str]) -> Any:
    """One row per organisation and period: the most recent answer wins."""
    ranked = (
        select(
            CheckIn.organisation_id,
            CheckIn.period_key,
            CheckIn.answer_number,
            func.row_number()
            .over(
                partition_by=(CheckIn.organisation_id, CheckIn.period_key),
                order_by=(
                    func.coalesce(CheckIn.edited_at, CheckIn.answered_at).desc(),
                    CheckIn.id.desc(),
                ),
            )
            .label("rank"),
        )
        .where(
            CheckIn.measure_id == measure_id,
            CheckIn.period_key.in_(list(keys)),
            CheckIn.answer_number.is_not(None),
        )
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1).subquery()


def _aggregate(aggregation: Aggregation, column: Any) -> Any:
    return func.avg(column) if aggregation is Aggregation.MEAN else func.sum(column)


async def measure_figures(
    s: AsyncSession, period: Period, organisation: str | None
) -> tuple[MeasureFigure, ...]:
    out = []
    measures = (
        await s.scalars(select(m.Measure).where(m.Measure.active).order_by(m.Measure.key))
    ).all()
    org_filter = [m.Organisation.slug == organisation] if organisation else []
    for measure in measures:
        kind = PeriodKind(measure.period)
        periods = measure_periods(period, kind)
        keys = [p.key for p in periods]
        aggregation = Aggregation(measure.aggregation)
        figures = latest_figures(measure.id, keys)
        newest = (
            select(figures.c.organisation_id, func.max(figures.c.period_key).label("newest"))
            .group_by(figures.c.organisation_id)
            .subquery()
        )
        value = (
            func.max(case((figures.c.period_key == newest.c.newest, figures.c.answer_number)))
            if aggregation is Aggregation.LATEST
            else _aggregate(aggregation, figures.c.answer_number)
        )
        per_org = (
            await s.execute(
                select(m.Organisation.name, value, m.MeasureTarget.target)
                .select_from(m.Organisation)
                .outerjoin(figures, figures.c.organisation_id == m.Organisation.id)
                .outerjoin(newest, newest.c.organisation_id == m.Organisation.id)
                .outerjoin(
                    m.MeasureTarget,
                    and_(
                        m.MeasureTarget.measure_id == measure.id,
                        m.MeasureTarget.organisation_id == m.Organisation.id,
                    ),
                )
                .where(m.Organisation.active, *org_filter)
                .group_by(m.Organisation.id, m.Organisation.name, m.MeasureTarget.target)
                .order_by(m.Organisation.name)
            )
        ).all()
        reported = [float(v) for _, v, _ in per_org if v is not None]
        total = (
            None
            if not reported
            else sum(reported) / len(reported)
            if aggregation is Aggregation.MEAN
            else sum(reported)
        )
        periods_count = len(keys) if aggregation is Aggregation.SUM else 1
        target = (
            measure.target * periods_count
            if measure.target is not None and not organisation
            else None
        )
        by_org = tuple(
            OrgFigure(
                name,
                None if v is None else float(v),
                None if t is None else float(t) * periods_count,
            )
            for name, v, t in per_org
        )
        history = await _history(s, measure.id, aggregation, periods[-1], organisation)
        out.append(
            MeasureFigure(
                measure.key,
                measure.name,
                measure.unit,
                measure.aggregation,
                tuple(keys),
                total,
                target,
                by_org,
                history,
                _period_target(measure.target, per_org, organisation),
            )
        )
    return tuple(out)


def _period_target(
    alliance: float | None, per_org: Sequence[Any], organisation: str | None
) -> float | None:
    """One period's target for the chart: the alliance's, or the one organisation's own."""
    if not organisation:
        return alliance
    own = [t for _, _, t in per_org if t is not None]
    return float(own[0]) if len(own) == 1 else None


async def _history(
    s: AsyncSession,
    measure_id: int,
    aggregation: Aggregation,
    last: Period,
    organisation: str | None,
) -> tuple[tuple[str, float | None], ...]:
    """The alliance figure of each of the last periods up to ``last``, for the chart."""
    periods = [last]
    while len(periods) < HISTORY:
        periods.insert(0, periods[0].previous())
    keys = [p.key for p in periods]
    figures = latest_figures(measure_id, keys)
    query = select(figures.c.period_key, _aggregate(aggregation, figures.c.answer_number)).group_by(
        figures.c.period_key
    )
    if organisation:
        query = query.join(m.Organisation, m.Organisation.id == figures.c.organisation_id).where(
            m.Organisation.slug == organisation
        )
    values = {key: float(v) for key, v in (await s.execute(query)).all() if v is not None}
    return tuple((key, values.get(key)) for key in keys)


async def reporting_rates(
    s: AsyncSession, period: Period, zone: str, organisation: str | None
) -> tuple[OrgReporting, ...]:
    """Per organisation: figures owed in the digest's measure periods, and those on time."""
    due: dict[int, int] = {}
    on_time: dict[int, int] = {}
    names: dict[int, str] = {}
    tz = ZoneInfo(zone)
    measures = (
        await s.execute(select(m.Measure.id, m.Measure.period).where(m.Measure.active))
    ).all()
    for measure_id, kind in measures:
        for mp in measure_periods(period, PeriodKind(kind)):
            deadline = datetime.combine(mp.end, time(), tz) + GRACE
            first = (
                select(CheckIn.organisation_id, func.min(CheckIn.answered_at).label("first"))
                .where(CheckIn.measure_id == measure_id, CheckIn.period_key == mp.key)
                .group_by(CheckIn.organisation_id)
                .subquery()
            )
            rows = (
                await s.execute(
                    select(m.Organisation.id, m.Organisation.name, first.c.first)
                    .select_from(Delivery)
                    .join(m.Organisation, m.Organisation.id == Delivery.organisation_id)
                    .outerjoin(first, first.c.organisation_id == Delivery.organisation_id)
                    .where(
                        Delivery.measure_id == measure_id,
                        Delivery.period_key == mp.key,
                        Delivery.kind == DeliveryKind.PROMPT.value,
                        Delivery.status == DeliveryStatus.SENT.value,
                        *([m.Organisation.slug == organisation] if organisation else []),
                    )
                    .group_by(m.Organisation.id, m.Organisation.name, first.c.first)
                )
            ).all()
            for org_id, name, answered_at in rows:
                names[org_id] = name
                due[org_id] = due.get(org_id, 0) + 1
                if answered_at is not None and _aware(answered_at) <= deadline:
                    on_time[org_id] = on_time.get(org_id, 0) + 1
    return tuple(
        OrgReporting(names[o], due[o], on_time.get(o, 0))
        for o in sorted(due, key=lambda o: names[o])
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
