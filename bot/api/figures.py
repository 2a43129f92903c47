"""Measures with their figures by period, and response rates by organisation and period.

The same rules as the digest: a measure's figure for an organisation and period is its latest
correction (``bot.digest.measures.latest_figures``), the periods a request names map to the
measure's own periods as the digest maps them (``measure_periods``), and a response rate is
answered / delivered over the prompts sent in the period's window in the alliance's time zone
(``bot.digest.compute``). A page of measures or of organisations is a few SQL aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api import schema as api
from bot.api.lists import Listed, cut, listed
from bot.api.params import PageRequest
from bot.digest.compute import answered_in, prompts_in, window
from bot.digest.measures import latest_figures, measure_periods
from bot.domain.periods import Period
from bot.domain.values import Aggregation, PeriodKind
from bot.storage import models as m
from bot.storage.records import CheckIn, Delivery


def _active_orgs(organisation: str | None) -> Any:
    query = select(m.Organisation.id, m.Organisation.slug, m.Organisation.name).where(
        m.Organisation.active
    )
    return query.where(m.Organisation.slug == organisation) if organisation else query


def measure_keys(periods: Sequence[Period], kind: PeriodKind) -> list[str]:
    """The measure's own periods that the asked ``periods`` report on, oldest first."""
    found = {p.key: p for asked in periods for p in measure_periods(asked, kind)}
    return [p.key for p in sorted(found.values(), key=lambda p: p.start)]


def _total(aggregation: Aggregation, values: list[float]) -> float | None:
    if not values:
        return None
    return sum(values) / len(values) if aggregation is Aggregation.MEAN else sum(values)


async def measures(
    s: AsyncSession, periods: Sequence[Period], organisation: str | None, page: PageRequest
) -> Listed[api.Measure]:
    rows = (
        await s.scalars(
            select(m.Measure)
            .where(m.Measure.active, m.Measure.id > page.after)
            .order_by(m.Measure.id)
            .limit(page.limit + 1)
        )
    ).all()
    shown, more = cut(rows, page.limit)
    if not shown:
        return Listed([], None)
    orgs = (await s.execute(_active_orgs(organisation).order_by(m.Organisation.name))).all()
    targets: dict[tuple[int, int], float] = {
        (mid, oid): float(t)
        for mid, oid, t in (
            await s.execute(
                select(
                    m.MeasureTarget.measure_id,
                    m.MeasureTarget.organisation_id,
                    m.MeasureTarget.target,
                ).where(m.MeasureTarget.measure_id.in_([x.id for x in shown]))
            )
        ).all()
    }
    found = []
    for measure in shown:
        keys = measure_keys(periods, PeriodKind(measure.period))
        latest = latest_figures(measure.id, keys)
        values: dict[tuple[int, str], float] = {
            (oid, key): float(v)
            for oid, key, v in (
                await s.execute(
                    select(latest.c.organisation_id, latest.c.period_key, latest.c.answer_number)
                )
            ).all()
            if v is not None
        }
        aggregation = Aggregation(measure.aggregation)
        figures = []
        for key in keys:
            by_org = [
                api.OrganisationFigure(
                    organisation=slug,
                    name=name,
                    value=values.get((oid, key)),
                    target=targets.get((measure.id, oid)),
                )
                for oid, slug, name in orgs
            ]
            reported = [f.value for f in by_org if f.value is not None]
            figures.append(
                api.PeriodFigure(
                    period=key,
                    total=_total(aggregation, reported),
                    target=None if organisation else measure.target,
                    organisations=by_org,
                )
            )
        found.append(
            api.Measure(
                id=measure.id,
                key=measure.key,
                name=measure.name,
                names=dict(measure.names),
                unit=measure.unit,
                aggregation=aggregation.value,
                period=PeriodKind(measure.period).value,
                target=measure.target,
                figures=figures,
            )
        )
    return listed(found, more, shown[-1].id)


async def _counts(
    s: AsyncSession, period: Period, zone: str, org_ids: set[int]
) -> dict[int, tuple[int, int]]:
    """(delivered, answered) by organisation id for the prompts of ``period``. The answers are
    bounded by the window's lowest and highest delivery id, as the digest bounds them.

    The page's organisations are named by their id range, not an ``IN`` list of a hundred
    parameters: the statement stays the same from page to page (asyncpg prepares it once), and
    ``+ 0`` keeps PostgreSQL on the window's index. 37 ms a page became 12 ms at 10,000
    members (bench/api_roundtrip.py). Organisations between them that the page leaves out
    (inactive) are counted and then not read."""
    start, end = window(period, zone)
    answered = await answered_in(s, start, end)  # the digest's rules, shared
    if answered is None:
        return {}
    sent = prompts_in(start, end)
    rows = await s.execute(
        select(Delivery.organisation_id, func.count(Delivery.id), func.count(CheckIn.id))
        .outerjoin(CheckIn, answered)
        .where(sent, (Delivery.organisation_id + 0).between(min(org_ids), max(org_ids)))
        .group_by(Delivery.organisation_id)
    )
    return {oid: (int(d), int(a)) for oid, d, a in rows.all() if oid in org_ids}


async def response_rates(
    s: AsyncSession, periods: Sequence[Period], organisation: str | None, page: PageRequest
) -> Listed[api.OrganisationRates]:
    orgs, more = cut(
        (
            await s.execute(
                _active_orgs(organisation)
                .where(m.Organisation.id > page.after)
                .order_by(m.Organisation.id)
                .limit(page.limit + 1)
            )
        ).all(),
        page.limit,
    )
    if not orgs:
        return Listed([], None)
    meta = await s.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    ids = {oid for oid, _, _ in orgs}
    counts = {p.key: await _counts(s, p, zone, ids) for p in periods}
    found = []
    for oid, slug, name in orgs:
        rates = []
        for p in periods:
            delivered, answered = counts[p.key].get(oid, (0, 0))
            rate = answered / delivered if delivered else None
            rates.append(
                api.PeriodRate(period=p.key, delivered=delivered, answered=answered, rate=rate)
            )
        found.append(api.OrganisationRates(organisation=slug, name=name, periods=rates))
    return listed(found, more, orgs[-1][0])
