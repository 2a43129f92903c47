"""One digest value for a period, computed with SQL aggregates (never row by row in Python)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.periods import Period
from bot.domain.values import Aggregation, DeliveryKind, DeliveryStatus, PeriodKind
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery

_ORDER = [PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER]


@dataclass(frozen=True)
class OrgResponse:
    slug: str
    name: str
    delivered: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.delivered if self.delivered else None


@dataclass(frozen=True)
class OrgFigure:
    name: str
    value: float | None
    target: float | None


@dataclass(frozen=True)
class MeasureFigure:
    key: str
    name: str
    unit: str
    aggregation: str
    period_keys: tuple[str, ...]
    total: float | None
    target: float | None
    by_org: tuple[OrgFigure, ...]


@dataclass(frozen=True)
class Pending:
    organisation: str
    people: tuple[tuple[str, str], ...]
    """(member name, what they have not answered)"""


@dataclass(frozen=True)
class Digest:
    alliance: str
    period: Period
    timezone: str
    responses: tuple[OrgResponse, ...]
    measures: tuple[MeasureFigure, ...]
    pending: tuple[Pending, ...]
    organisation_filter: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def delivered(self) -> int:
        return sum(r.delivered for r in self.responses)

    @property
    def answered(self) -> int:
        return sum(r.answered for r in self.responses)


def measure_periods(period: Period, kind: PeriodKind) -> list[Period]:
    """The measure periods a digest period reports on.

    Same kind: that period. A shorter digest (a week, for a monthly measure): the last complete
    measure period before it ends. A longer digest: every measure period inside it.
    """
    if period.kind is kind:
        return [period]
    if _ORDER.index(period.kind) < _ORDER.index(kind):
        return [Period.containing(period.end, kind).previous()]
    found, cursor = [], Period.containing(period.start, kind)
    while cursor.start < period.end:
        found.append(cursor)
        cursor = cursor.next()
    return found


def window(period: Period, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(period.start, time(), tz), datetime.combine(period.end, time(), tz))


async def compute_digest(
    s: AsyncSession, period: Period, organisation: str | None = None
) -> Digest:
    meta = await s.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    start, end = window(period, zone)
    org_filter = [m.Organisation.slug == organisation] if organisation else []
    answered = and_(CheckIn.delivery_id == Delivery.id, CheckIn.member_id == Delivery.member_id)
    in_window = and_(
        Delivery.kind == DeliveryKind.PROMPT.value,
        Delivery.member_id.is_not(None),
        Delivery.status == DeliveryStatus.SENT.value,
        Delivery.scheduled_at >= start,
        Delivery.scheduled_at < end,
    )
    rows = (
        await s.execute(
            select(
                m.Organisation.slug,
                m.Organisation.name,
                func.count(Delivery.id),
                func.count(CheckIn.id),
            )
            .join(Delivery, and_(Delivery.organisation_id == m.Organisation.id, in_window))
            .outerjoin(CheckIn, answered)
            .where(m.Organisation.active, *org_filter)
            .group_by(m.Organisation.slug, m.Organisation.name)
            .order_by(m.Organisation.name)
        )
    ).all()
    responses = tuple(OrgResponse(slug, name, int(d), int(a)) for slug, name, d, a in rows)
    pending_rows = (
        await s.execute(
            select(
                m.Organisation.name, m.Member.display_name, Delivery.prompt_id, Delivery.measure_id
            )
            .join(m.Member, m.Member.id == Delivery.member_id)
            .join(m.Organisation, m.Organisation.id == Delivery.organisation_id)
            .outerjoin(CheckIn, answered)
            .where(in_window, CheckIn.id.is_(None), *org_filter)
            .order_by(m.Organisation.name, m.Member.display_name, Delivery.prompt_id)
        )
    ).all()
    grouped: dict[str, list[tuple[str, str]]] = {}
    for org, person, _prompt, measure_id in pending_rows:
        what = "figures" if measure_id else "exercise"
        entry = (person, what)
        if entry not in grouped.setdefault(org, []):
            grouped[org].append(entry)
    measures = await _measures(s, period, organisation)
    return Digest(
        meta.name if meta else "alliance",
        period,
        zone,
        responses,
        measures,
        tuple(Pending(org, tuple(people)) for org, people in grouped.items()),
        organisation,
    )


async def _measures(
    s: AsyncSession, period: Period, organisation: str | None
) -> tuple[MeasureFigure, ...]:
    out = []
    measures = (
        await s.scalars(select(m.Measure).where(m.Measure.active).order_by(m.Measure.key))
    ).all()
    for measure in measures:
        keys = [p.key for p in measure_periods(period, PeriodKind(measure.period))]
        aggregation = Aggregation(measure.aggregation)
        # The latest correction wins: one figure per organisation and period.
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
                CheckIn.measure_id == measure.id,
                CheckIn.period_key.in_(keys),
                CheckIn.answer_number.is_not(None),
            )
            .subquery()
        )
        figures = select(ranked).where(ranked.c.rank == 1).subquery()
        newest = (
            select(figures.c.organisation_id, func.max(figures.c.period_key).label("newest"))
            .group_by(figures.c.organisation_id)
            .subquery()
        )
        latest_value = func.max(
            case((figures.c.period_key == newest.c.newest, figures.c.answer_number))
        )
        value = {
            Aggregation.SUM: func.sum(figures.c.answer_number),
            Aggregation.MEAN: func.avg(figures.c.answer_number),
            Aggregation.LATEST: latest_value,
        }[aggregation]
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
                .where(
                    m.Organisation.active,
                    *([m.Organisation.slug == organisation] if organisation else []),
                )
                .group_by(m.Organisation.name, m.MeasureTarget.target)
                .order_by(m.Organisation.name)
            )
        ).all()
        reported = [v for _, v, _ in per_org if v is not None]
        if not reported:
            total = None
        elif aggregation is Aggregation.MEAN:
            total = sum(float(v) for v in reported) / len(reported)
        else:
            total = sum(float(v) for v in reported)
        target = (
            measure.target * (len(keys) if aggregation is Aggregation.SUM else 1)
            if measure.target is not None and not organisation
            else None
        )
        out.append(
            MeasureFigure(
                measure.key,
                measure.name,
                measure.unit,
                measure.aggregation,
                tuple(keys),
                total,
                target,
                tuple(
                    OrgFigure(
                        name, None if v is None else float(v), None if t is None else float(t)
                    )
                    for name, v, t in per_org
                ),
            )
        )
    return tuple(out)
