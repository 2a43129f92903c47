"""Digest benchmark baseline: the same digest figures from every delivery and check-in loaded
into Python (baseline_digest), and the correctness check against the SQL digest (check_same)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bench.digest_profile import Timed
from bot.digest.chart import render_png
from bot.digest.compute import QUIET_PERIODS, window
from bot.digest.measures import GRACE, HISTORY, measure_periods
from bot.digest.model import (
    Digest,
    MeasureFigure,
    OrgFigure,
    OrgReporting,
    OrgResponse,
    Pending,
)
from bot.digest.render import DigestRenderer
from bot.domain.periods import Period
from bot.domain.values import Aggregation, PeriodKind
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery

# --- the baseline: every row into Python ------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def baseline_digest(db: Database, period: Period) -> tuple[Digest, Timed]:
    """The same figures from every delivery and check-in loaded into Python, the naive way."""
    t0 = time.perf_counter()
    async with db.session() as s:
        meta = await s.get(m.Alliance, 1)
        orgs = {
            oid: (slug, name, active)
            for oid, slug, name, active in (
                await s.execute(
                    select(
                        m.Organisation.id,
                        m.Organisation.slug,
                        m.Organisation.name,
                        m.Organisation.active,
                    )
                )
            ).all()
        }
        members = dict((await s.execute(select(m.Member.id, m.Member.display_name))).all())
        measures = (await s.execute(select(m.Measure).order_by(m.Measure.key))).scalars().all()
        targets = {
            (mid, oid): target
            for mid, oid, target in (
                await s.execute(
                    select(
                        m.MeasureTarget.measure_id,
                        m.MeasureTarget.organisation_id,
                        m.MeasureTarget.target,
                    )
                )
            ).all()
        }
        deliveries = (
            await s.execute(
                select(
                    Delivery.id,
                    Delivery.kind,
                    Delivery.status,
                    Delivery.member_id,
                    Delivery.organisation_id,
                    Delivery.measure_id,
                    Delivery.period_key,
                    Delivery.scheduled_at,
                )
            )
        ).all()
        checkins = (
            await s.execute(
                select(
                    CheckIn.id,
                    CheckIn.delivery_id,
                    CheckIn.member_id,
                    CheckIn.organisation_id,
                    CheckIn.measure_id,
                    CheckIn.period_key,
                    CheckIn.answer_number,
                    CheckIn.answered_at,
                    CheckIn.edited_at,
                )
            )
        ).all()
    t1 = time.perf_counter()
    zone = meta.default_timezone if meta else "UTC"
    start, end = window(period, zone)
    answered = {(c.delivery_id, c.member_id) for c in checkins if c.delivery_id is not None}

    def prompts_in(lo: datetime, hi: datetime) -> Iterator[Any]:
        for d in deliveries:
            if (
                d.kind == "prompt"
                and d.member_id is not None
                and d.status == "sent"
                and lo <= d.scheduled_at < hi
            ):
                yield d

    def rates(lo: datetime, hi: datetime) -> dict[str, tuple[str, int, int]]:
        counts: dict[str, list[Any]] = {}
        for d in prompts_in(lo, hi):
            org = orgs.get(d.organisation_id)
            if org is None or not org[2]:
                continue
            entry = counts.setdefault(org[0], [org[1], 0, 0])
            entry[1] += 1
            entry[2] += (d.id, d.member_id) in answered
        return {slug: (v[0], v[1], v[2]) for slug, v in counts.items()}

    known = [rates(start, end)]
    cursor = period
    for _ in range(1, max(QUIET_PERIODS, 2)):
        cursor = cursor.previous()
        known.append(rates(*window(cursor, zone)))
    current, previous = known[0], known[1]
    quiet: set[str] | None = None
    for rated in known[:QUIET_PERIODS]:
        silent = {slug for slug, (_, d, a) in rated.items() if d > 0 and a == 0}
        quiet = silent if quiet is None else quiet & silent
    responses = tuple(
        sorted(
            (
                OrgResponse(
                    slug,
                    name,
                    d,
                    a,
                    previous.get(slug, ("", 0, 0))[1],
                    previous.get(slug, ("", 0, 0))[2],
                    quiet=slug in (quiet or set()),
                )
                for slug, (name, d, a) in current.items()
            ),
            key=lambda r: r.name,
        )
    )
    # Measures: the latest answer per (measure, organisation, period) wins; and the first
    # answer's time, for on-time reporting.
    latest: dict[tuple[int, int, str], tuple[tuple[datetime, int], float]] = {}
    first: dict[tuple[int, int, str], datetime] = {}
    for c in checkins:
        if c.measure_id is None:
            continue
        k = (c.measure_id, c.organisation_id, c.period_key)
        if k not in first or c.answered_at < first[k]:
            first[k] = c.answered_at
        if c.answer_number is None:
            continue
        rank = (c.edited_at or c.answered_at, c.id)
        if k not in latest or rank > latest[k][0]:
            latest[k] = (rank, c.answer_number)
    active_orgs = sorted((name, oid) for oid, (_, name, active) in orgs.items() if active)
    figures = []
    for ms in (x for x in measures if x.active):
        figures.append(baseline_measure(ms, period, latest, targets, active_orgs))
    reporting = baseline_reporting(
        [x for x in measures if x.active], period, zone, deliveries, orgs, first
    )
    # Pending: (organisation, member, measure) of the window's prompts nobody answered.
    measure_names = {x.id: x.name for x in measures}
    missing = set()
    for d in prompts_in(start, end):
        if (d.id, d.member_id) in answered:
            continue
        org = orgs.get(d.organisation_id)
        person = members.get(d.member_id)
        if org is None or person is None:
            continue
        missing.add((org[1], person, measure_names.get(d.measure_id)))
    nulls_first = db.is_sqlite  # SQLite sorts NULL first, PostgreSQL last
    ordered = sorted(
        missing,
        key=lambda r: (r[0], r[1], (0 if nulls_first else 2) if r[2] is None else 1, r[2] or ""),
    )
    grouped: dict[str, list[tuple[str, str]]] = {}
    for org_name, person, measure_name in ordered:
        entry = (person, f"figures: {measure_name}" if measure_name else "exercise")
        if entry not in grouped.setdefault(org_name, []):
            grouped[org_name].append(entry)
    pending = tuple(Pending(org, tuple(people)) for org, people in grouped.items())
    digest = Digest(
        meta.name if meta else "alliance",
        period,
        zone,
        responses,
        tuple(figures),
        pending,
        None,
        reporting=reporting,
    )
    t2 = time.perf_counter()
    await render_png(digest.measures, f"{digest.alliance}: measures to {period.key}")
    t3 = time.perf_counter()
    DigestRenderer().text(digest)
    t4 = time.perf_counter()
    parts = {
        f"load {len(deliveries):,} deliveries + {len(checkins):,} check-ins": t1 - t0,
        "compute in Python": t2 - t1,
        "render_png": t3 - t2,
        "text": t4 - t3,
    }
    return digest, Timed(t4 - t0, parts)


def baseline_measure(
    ms: m.Measure,
    period: Period,
    latest: dict[tuple[int, int, str], tuple[tuple[datetime, int], float]],
    targets: dict[tuple[int, int], float],
    active_orgs: list[tuple[str, int]],
) -> MeasureFigure:
    aggregation = Aggregation(ms.aggregation)
    periods = measure_periods(period, PeriodKind(ms.period))
    keys = [p.key for p in periods]

    def combine(values: list[float]) -> float | None:
        if not values:
            return None
        return sum(values) / len(values) if aggregation is Aggregation.MEAN else sum(values)

    periods_count = len(keys) if aggregation is Aggregation.SUM else 1
    by_org = []
    for name, oid in active_orgs:
        found = [(key, latest[(ms.id, oid, key)][1]) for key in keys if (ms.id, oid, key) in latest]
        if aggregation is Aggregation.LATEST:
            value = max(found)[1] if found else None
        else:
            value = combine([v for _, v in found])
        target = targets.get((ms.id, oid))
        by_org.append(OrgFigure(name, value, None if target is None else target * periods_count))
    history_periods = [periods[-1]]
    while len(history_periods) < HISTORY:
        history_periods.insert(0, history_periods[0].previous())
    history = []
    for p in history_periods:
        values = [v for (mid, _, key), (_, v) in latest.items() if mid == ms.id and key == p.key]
        history.append((p.key, combine(values)))
    reported = [f.value for f in by_org if f.value is not None]
    total = (
        None
        if not reported
        else sum(reported) / len(reported)
        if aggregation is Aggregation.MEAN
        else sum(reported)
    )
    return MeasureFigure(
        ms.key,
        ms.name,
        ms.unit,
        ms.aggregation,
        tuple(keys),
        total,
        None if ms.target is None else ms.target * periods_count,
        tuple(by_org),
        tuple(history),
        ms.target,
    )


def baseline_reporting(
    measures: Sequence[m.Measure],
    period: Period,
    zone: str,
    deliveries: Sequence[Any],
    orgs: dict[int, tuple[str, str, bool]],
    first: dict[tuple[int, int, str], datetime],
) -> tuple[OrgReporting, ...]:
    due: dict[str, int] = {}
    on_time: dict[str, int] = {}
    for ms in measures:
        for mp in measure_periods(period, PeriodKind(ms.period)):
            deadline = window(mp, zone)[1] + GRACE
            owing = {
                d.organisation_id
                for d in deliveries
                if d.measure_id == ms.id
                and d.period_key == mp.key
                and d.kind == "prompt"
                and d.status == "sent"
                and d.organisation_id in orgs
            }
            for oid in owing:
                name = orgs[oid][1]
                due[name] = due.get(name, 0) + 1
                answered_at = first.get((ms.id, oid, mp.key))
                if answered_at is not None and _aware(answered_at) <= deadline:
                    on_time[name] = on_time.get(name, 0) + 1
    return tuple(OrgReporting(name, due[name], on_time.get(name, 0)) for name in sorted(due))


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check_same(sql: Digest, py: Digest) -> None:
    """Correctness, asserted: the baseline and the SQL digest agree on every figure compared."""
    assert len(sql.responses) == len(py.responses), "organisations with prompts differ"
    for a, b in zip(sql.responses, py.responses, strict=True):
        assert (a.slug, a.delivered, a.answered) == (b.slug, b.delivered, b.answered), (a, b)
        assert a == b, (a, b)
    assert sql.delivered == py.delivered and sql.answered == py.answered
    assert sql.pending == py.pending, "pending lists differ"
    assert sql.reporting == py.reporting, "on-time reporting differs"
    assert len(sql.measures) == len(py.measures)
    for ms, mp in zip(sql.measures, py.measures, strict=True):
        assert (ms.key, ms.period_keys, ms.aggregation) == (mp.key, mp.period_keys, mp.aggregation)
        assert close(ms.total, mp.total), (ms.key, ms.total, mp.total)
        assert close(ms.target, mp.target) and close(ms.period_target, mp.period_target)
        assert len(ms.by_org) == len(mp.by_org)
        for x, y in zip(ms.by_org, mp.by_org, strict=True):
            assert x.name == y.name and close(x.value, y.value) and close(x.target, y.target), (
                ms.key,
                x,
                y,
            )
        assert [k for k, _ in ms.history] == [k for k, _ in mp.history]
        for (_, sv), (_, pv) in zip(ms.history, mp.history, strict=True):
            assert close(sv, pv), (ms.key, ms.history, mp.history)
