"""Digest benchmark: one digest with its chart over ~1,000,000 check-ins, against plain Python.

    .venv/bin/python bench/digest_bench.py [--weeks W] [--organisations N] [--per-org K]
        [--runs R] [--baseline-runs B] [--no-pg] [--no-index-test] [--backend sqlite|postgresql]

From the issue: "A digest (with its chart) over 1,000,000 check-ins from 10,000 members and 500
organisations: wall time on SQLite and on PostgreSQL, and the ratio against the same digest
computed by loading rows into Python (target <= 0.1)."

Each backend runs in a child process of its own (so its peak RSS is its own): the database is
filled with SQLAlchemy Core bulk inserts (not timed against the target, only printed), analysed,
and then the digest of the last week (``compute_digest`` + ``render_png`` + the text rendering)
is timed, best of R. The baseline loads every delivery and check-in into Python, computes the
same response counts, measure figures, on-time reporting and pending list there, is checked
against the SQL digest (assertions on correctness, never on timings), and renders the same
chart and text. The script prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.common import postgres, versions
from bot.digest.chart import render_png
from bot.digest.compute import QUIET_PERIODS, _pending, _rates, compute_digest, window
from bot.digest.highlights import _group, _query, highlights
from bot.digest.measures import GRACE, HISTORY, measure_figures, measure_periods, reporting_rates
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
from bot.library import load_library
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import CheckIn, CheckInRevision, Delivery

ORGANISATIONS = 500
PER_ORG = 20  # 500 × 20 = 10,000 members
WEEKS = 110  # 10,000 × 110 × ~0.9 answered ≈ 990,000 exercise check-ins, ~1.02M in all
LAST_WEEK = "2026-W49"  # holds 1 December: the monthly figures prompts go out in it
RATIO_TARGET = 0.1
CHUNK = 20_000  # rows per executemany
FLUSH = 60_000  # deliveries + check-ins per transaction
ANSWER_RATE = 0.9
FIGURE_RATE = 0.92
QUIET_EVERY = 100  # organisations 100, 200, ... answer nothing in the last three weeks
EXERCISES = (
    "name-a-barrier",
    "agenda-shared-challenge",
    "comms-wish-partners-knew",
    "activities-unmet-need",
)
ZONES = ("Europe/Berlin", "Europe/Paris", "Africa/Nairobi", "America/Bogota", "Asia/Jakarta")
ANSWERS = (
    "Nobody knew who owned the shared calendar; a named owner would have fixed it.",
    "Our opening hours do not overlap with the partner's, so referrals wait a week.",
    "We lack a volunteer who can run the Tuesday session in Spanish.",
    "The data-sharing agreement is still with the legal team.",
    "Transport: people cannot reach the centre after 6 pm.",
    "A shared sign-up sheet would stop double bookings.",
)


@dataclass(frozen=True)
class MeasureSpec:
    key: str
    prompt_id: str
    name: str
    aggregation: str
    target: float
    low: int
    high: int


MEASURES = (
    MeasureSpec("people_reached", "measure-people-reached", "People reached", "sum", 6000, 0, 40),
    MeasureSpec("volunteer_hours", "measure-volunteer-hours", "Volunteer hours", "mean", 35, 0, 80),
    MeasureSpec("devices_lent", "measure-devices-lent", "Devices lent", "latest", 900, 0, 6),
)


# --- memory ---------------------------------------------------------------------------------


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process, where Linux allows it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM), else since the process started (getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data generation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    organisations: int
    per_org: int
    weeks: int
    last: Period

    @property
    def members(self) -> int:
        return self.organisations * self.per_org

    def week_list(self) -> list[Period]:
        found = [self.last]
        while len(found) < self.weeks:
            found.insert(0, found[0].previous())
        return found

    def reporting_member(self, org: int) -> int:
        return (org - 1) * self.per_org + 1


def utc(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, dtime(hour), UTC)


def reference_rows(shape: Shape, now: datetime) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Alliance, organisations, members, prompts, measures and targets, campaigns."""
    library, problems = load_library()
    if problems:
        raise SystemExit(f"the prompt library has problems: {problems[:3]}")
    prompts = [library.get(pid) for pid in (*EXERCISES, *(ms.prompt_id for ms in MEASURES))]
    alliance = [
        {
            "id": 1,
            "name": "Bench Alliance",
            "default_locale": "en",
            "default_timezone": "UTC",
            "loaded_at": now,
            "source_digest": "",
        }
    ]
    orgs = [
        {
            "id": o,
            "slug": f"org-{o:03d}",
            "name": f"Organisation {o:03d}",
            "kind": "library",
            "country": "DE",
            "timezone": ZONES[o % len(ZONES)],
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for o in range(1, shape.organisations + 1)
    ]
    members = [
        {
            "id": n,
            "handle": f"m{n:05d}",
            "display_name": f"Member {n:05d}",
            "organisation_id": (n - 1) // shape.per_org + 1,
            "role": "member",
            "timezone": ZONES[((n - 1) // shape.per_org + 1) % len(ZONES)],
            "locale": "en",
            "reporting": (n - 1) % shape.per_org == 0,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, shape.members + 1)
    ]
    prompt_rows = [
        {
            "id": p.id,
            "kind": p.kind.value,
            "answer_type": p.answer.value,
            "source": "library",
            "definition": p.model_dump(mode="json", exclude_none=True),
            "updated_at": now,
        }
        for p in prompts
    ]
    measures = []
    for index, ms in enumerate(MEASURES, start=1):
        unit = library.get(ms.prompt_id).unit
        measures.append(
            {
                "id": index,
                "key": ms.key,
                "name": ms.name,
                "unit": unit["en"] if unit else "",
                "aggregation": ms.aggregation,
                "period": PeriodKind.MONTH.value,
                "target": float(ms.target),
                "prompt_id": ms.prompt_id,
                "active": True,
            }
        )
    targets = [
        {
            "measure_id": index,
            "organisation_id": o,
            "target": float(round(ms.target / shape.organisations, 1) or 1),
        }
        for index, ms in enumerate(MEASURES[:2], start=1)
        for o in range(1, shape.organisations + 1)
    ]
    campaign = {
        "description": "",
        "prompt_order": "all",
        "channel_keys": [],
        "direct": True,
        "timezone": None,
        "reminder_after_minutes": None,
        "reminder_max": 0,
        "catch_up_minutes": 360,
        "skip_holidays": False,
        "measure_period": "previous",
        "starts_on": None,
        "ends_on": None,
        "paused": False,
        "active": True,
        "updated_at": now,
    }
    campaigns = [
        {
            **campaign,
            "id": 1,
            "key": "weekly",
            "name": "Weekly exercise",
            "prompt_ids": list(EXERCISES),
            "prompt_order": "rotate",
            "audience": {"roles": ["member"]},
            "schedule": "0 9 * * MON",
        },
        {
            **campaign,
            "id": 2,
            "key": "figures",
            "name": "Monthly figures",
            "prompt_ids": [ms.prompt_id for ms in MEASURES],
            "audience": {"reporting_only": True},
            "schedule": "0 10 1 * *",
        },
    ]
    return [
        (m.Alliance.__table__, alliance),
        (m.Organisation.__table__, orgs),
        (m.Member.__table__, members),
        (m.Prompt.__table__, prompt_rows),
        (m.Measure.__table__, measures),
        (m.MeasureTarget.__table__, targets),
        (m.Campaign.__table__, campaigns),
    ]


@dataclass
class Activity:
    """Deliveries, check-ins and revisions, generated week by week with explicit ids."""

    shape: Shape
    rng: random.Random = field(default_factory=lambda: random.Random(20261130))
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    delivery_id: int = 0
    checkin_id: int = 0
    revision_id: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def _delivery(
        self,
        campaign: int,
        prompt: str,
        measure: int | None,
        member: int,
        org: int,
        period_key: str,
        at: datetime,
        occurrence: str,
        suffix: str = "",
    ) -> int:
        self.delivery_id += 1
        did = self.delivery_id
        self.deliveries.append(
            {
                "id": did,
                "dedupe_key": f"p:{campaign}:{occurrence}:{prompt}:m{member}{suffix}",
                "kind": "prompt",
                "campaign_id": campaign,
                "prompt_id": prompt,
                "measure_id": measure,
                "member_id": member,
                "channel_id": None,
                "organisation_id": org,
                "parent_id": None,
                "period_key": period_key,
                "occurrence": occurrence,
                "locale": "en",
                "scheduled_at": at,
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": None,
                "last_error": None,
                "sent_at": at + timedelta(seconds=2),
                "platform": "slack",
                "address": f"D{member:06d}",
                "message_ref": f"{int(at.timestamp())}.{did:07d}",
                "thread_ref": None,
                "reminders_sent": 0,
                "remind_at": None,
                "payload": {},
                "created_at": at,
            }
        )
        return did

    def _checkin(
        self,
        delivery: int,
        member: int,
        org: int,
        prompt: str,
        measure: int | None,
        period_key: str,
        answered_at: datetime,
        answer: str,
        number: float | None,
        edited: bool,
    ) -> None:
        self.checkin_id += 1
        edited_at = answered_at + timedelta(hours=self.rng.randrange(1, 48)) if edited else None
        self.checkins.append(
            {
                "id": self.checkin_id,
                "delivery_id": delivery,
                "member_id": member,
                "organisation_id": org,
                "prompt_id": prompt,
                "measure_id": measure,
                "period_key": period_key,
                "answer_text": answer,
                "answer_number": number,
                "answer_choice": None,
                "source": "reply",
                "platform": "slack",
                "event_ref": f"Ev{self.checkin_id:08d}",
                "answered_at": answered_at,
                "edited_at": edited_at,
                "starred": self.rng.random() < 0.0005,
                "shareable": self.rng.random() < 0.3,
            }
        )
        if edited_at is not None:
            self.revision_id += 1
            old = None if number is None else float(max(number - self.rng.randrange(1, 5), 0))
            self.revisions.append(
                {
                    "id": self.revision_id,
                    "checkin_id": self.checkin_id,
                    "answer_text": "" if old is None else f"{old:.0f}",
                    "answer_number": old,
                    "answer_choice": None,
                    "source": "reply",
                    "recorded_at": answered_at,
                    "replaced_at": edited_at,
                }
            )

    def week(self, index: int, period: Period, quiet_from: int) -> None:
        """One exercise prompt per member (rotating through EXERCISES), ~90% answered."""
        prompt = EXERCISES[index % len(EXERCISES)]
        key = period.key
        rng = self.rng
        per_org = self.shape.per_org
        for org in range(1, self.shape.organisations + 1):
            at = utc(period.start + timedelta(days=org % 5), 8 + org % 9)
            occurrence = at.strftime("%Y-%m-%dT%H:%M")
            silent = org % QUIET_EVERY == 0 and index >= quiet_from
            for member in range((org - 1) * per_org + 1, org * per_org + 1):
                did = self._delivery(1, prompt, None, member, org, key, at, occurrence)
                if silent or rng.random() >= ANSWER_RATE:
                    continue
                answered_at = at + timedelta(minutes=rng.randrange(3, 4 * 24 * 60))
                answer = ANSWERS[rng.randrange(len(ANSWERS))]
                edited = rng.random() < 0.01
                self._checkin(
                    did, member, org, prompt, None, key, answered_at, answer, None, edited
                )

    def month(self, first_day: date) -> None:
        """On the 1st: each reporting member is asked each measure for the previous month;
        some answers are edited later, some are corrected through a second prompt."""
        period = Period.containing(first_day, PeriodKind.MONTH).previous()
        at = utc(first_day, 10)
        occurrence = at.strftime("%Y-%m-%dT%H:%M")
        rng = self.rng
        for org in range(1, self.shape.organisations + 1):
            member = self.shape.reporting_member(org)
            for index, ms in enumerate(MEASURES, start=1):
                did = self._delivery(
                    2, ms.prompt_id, index, member, org, period.key, at, occurrence
                )
                if rng.random() >= FIGURE_RATE:
                    continue
                answered_at = at + timedelta(minutes=rng.randrange(10, 12 * 24 * 60))
                number = float(rng.randint(ms.low, ms.high))
                edited = rng.random() < 0.1
                self._checkin(
                    did, member, org, ms.prompt_id, index, period.key, answered_at,
                    f"{number:.0f}", number, edited,
                )  # fmt: skip
                if rng.random() < 0.08:  # a correction, asked for again three days later
                    again = at + timedelta(days=3)
                    occ = again.strftime("%Y-%m-%dT%H:%M")
                    fix = self._delivery(
                        2, ms.prompt_id, index, member, org, period.key, again, occ, ":fix"
                    )
                    fixed = float(rng.randint(ms.low, ms.high))
                    later = max(answered_at, again) + timedelta(hours=rng.randrange(1, 72))
                    self._checkin(
                        fix, member, org, ms.prompt_id, index, period.key, later,
                        f"{fixed:.0f}", fixed, False,
                    )  # fmt: skip

    def take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        out = (self.deliveries, self.checkins, self.revisions)
        for name, rows in zip(("deliveries", "checkins", "revisions"), out, strict=True):
            self.totals[name] = self.totals.get(name, 0) + len(rows)
        self.deliveries, self.checkins, self.revisions = [], [], []
        return out


def first_days(weeks: Sequence[Period]) -> set[date]:
    """The 1st of each month falling inside the weeks."""
    return {
        weeks[0].start + timedelta(days=n)
        for n in range((weeks[-1].end - weeks[0].start).days)
        if (weeks[0].start + timedelta(days=n)).day == 1
    }


async def insert_rows(conn: AsyncConnection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(table), rows[start : start + CHUNK])


async def generate(db: Database, shape: Shape) -> dict[str, Any]:
    """Fill the database; returns row counts and timings (printed, not part of the target)."""
    t0 = time.perf_counter()
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.engine.begin() as conn:
        for table, rows in reference_rows(shape, now):
            await insert_rows(conn, table, rows)
    weeks = shape.week_list()
    months = first_days(weeks)
    activity = Activity(shape)
    quiet_from = shape.weeks - QUIET_PERIODS - 1
    build_s = 0.0
    pending = 0
    for index, period in enumerate(weeks):
        b0 = time.perf_counter()
        activity.week(index, period, quiet_from)
        for day in sorted(d for d in months if period.contains(d)):
            activity.month(day)
        build_s += time.perf_counter() - b0
        pending += len(activity.deliveries) + len(activity.checkins)
        if pending >= FLUSH or index == len(weeks) - 1:
            deliveries, checkins, revisions = activity.take()
            pending = 0
            async with db.engine.begin() as conn:
                await insert_rows(conn, Delivery.__table__, deliveries)
                await insert_rows(conn, CheckIn.__table__, checkins)
                await insert_rows(conn, CheckInRevision.__table__, revisions)
        if (index + 1) % 20 == 0:
            done = activity.totals.get("checkins", 0)
            print(f"  week {index + 1}/{len(weeks)}: {done:,} check-ins stored", flush=True)
    inserted_s = time.perf_counter() - t0
    a0 = time.perf_counter()
    await analyse(db)
    figures = {
        **activity.totals,
        "generation_s": inserted_s,
        "python_rows_s": build_s,
        "analyze_s": time.perf_counter() - a0,
    }
    return figures


async def analyse(db: Database) -> None:
    """ANALYZE (SQLite, after a WAL checkpoint) or VACUUM ANALYZE (PostgreSQL, which autovacuum
    would otherwise do at some unknown moment during the measurement)."""
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        for table in ("deliveries", "checkins", "checkin_revisions"):
            await conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        await conn.commit()
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("VACUUM ANALYZE")


# --- the digest as shipped ------------------------------------------------------------------


@dataclass
class Timed:
    total: float
    parts: dict[str, float]


async def sql_digest(db: Database, period: Period) -> tuple[Digest, bytes, str, Timed]:
    """compute_digest + render_png + DigestRenderer().text, as bot/digest/commands.py does."""
    t0 = time.perf_counter()
    async with db.session() as s:
        digest = await compute_digest(s, period)
    t1 = time.perf_counter()
    png = await render_png(digest.measures, f"{digest.alliance}: measures to {period.key}")
    t2 = time.perf_counter()
    body = DigestRenderer().text(digest)
    t3 = time.perf_counter()
    parts = {"compute_digest": t1 - t0, "render_png": t2 - t1, "text": t3 - t2}
    return digest, png, body, Timed(t3 - t0, parts)


async def best_of(runs: int, once: Callable[[], Any]) -> tuple[Any, list[Timed]]:
    """Run ``once`` ``runs`` times, each after a full garbage collection (fewer stray pauses)."""
    results = []
    result = None
    for _ in range(runs):
        gc.collect()
        result = await once()
        results.append(result[-1])
    return result, results


async def digest_parts(db: Database, period: Period, runs: int) -> list[tuple[str, float]]:
    """The pieces of compute_digest, each timed on its own (SQL and Python together), best of
    ``runs`` per piece."""
    best: dict[str, float] = {}
    for _ in range(runs):
        for label, seconds in await digest_parts_once(db, period):
            best[label] = min(seconds, best.get(label, seconds))
    return list(best.items())


async def digest_parts_once(db: Database, period: Period) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    async with db.session() as s:
        meta = await s.get(m.Alliance, 1)
        zone = meta.default_timezone if meta else "UTC"
        start, end = window(period, zone)

        async def timed(label: str, work: Any) -> Any:
            t0 = time.perf_counter()
            value = await work
            out.append((label, time.perf_counter() - t0))
            return value

        await timed("_rates (this week)", _rates(s, start, end, []))
        await timed("_rates (previous week)", _rates(s, *window(period.previous(), zone), []))
        await timed("highlights", highlights(s, start, end, None))
        await timed("measure_figures", measure_figures(s, period, None))
        await timed("_pending", _pending(s, start, end, []))
        await timed("reporting_rates", reporting_rates(s, period, zone, None))
        t0 = time.perf_counter()
        query = _query(start, end, None).order_by(CheckIn.prompt_id, m.Organisation.name)
        rows = list((await s.execute(query)).all())
        t1 = time.perf_counter()
        _group(rows)
        t2 = time.perf_counter()
        out.append((f"exercise_groups: query ({len(rows):,} rows)", t1 - t0))
        out.append(("exercise_groups: _group (PromptDef per row)", t2 - t1))
    return out


class StatementLog:
    """Wall time of each statement the driver runs (execute + fetch), while enabled."""

    def __init__(self, db: Database) -> None:
        self.enabled = False
        self.entries: list[tuple[float, str, Any]] = []
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, *_args: Any) -> None:
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        started = conn.info["bench_t0"].pop()
        if self.enabled:
            self.entries.append((time.perf_counter() - started, statement, params))

    async def record(self, work: Callable[[], Any]) -> list[tuple[float, str, Any]]:
        self.entries, self.enabled = [], True
        try:
            await work()
        finally:
            self.enabled = False
        return sorted(self.entries, key=lambda e: -e[0])


STATEMENT_SOURCES = (
    ("count(deliveries.id)", "compute._rates"),
    ("SELECT DISTINCT organisations.name, members.display_name", "compute._pending"),
    ("min(checkins.answered_at)", "measures.reporting_rates"),
    ("measure_targets.target", "measures.measure_figures"),
    ("row_number() OVER", "measures._history"),
    ("FROM measures", "measures: active measures"),
    ("FROM alliance", "compute_digest: alliance"),
)


def source_of(statement: str) -> str:
    """Which function of bot/digest ran a statement (read from its text)."""
    if "prompts.definition" in statement:
        return "highlights.highlights" if "LIMIT" in statement else "highlights.exercise_groups"
    flat = " ".join(statement.split())
    return next((name for marker, name in STATEMENT_SOURCES if marker in flat), "?")


def short_sql(statement: str, width: int = 150) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


async def explain(db: Database, statement: str, params: Any) -> list[str]:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)).all()
            depth: dict[int, int] = {0: 0}
            lines = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * depth[node] + str(detail))
            return lines
        sql = "EXPLAIN (ANALYZE, BUFFERS) " + statement
        return [str(r[0]) for r in (await conn.exec_driver_sql(sql, params)).all()]


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
    for a, b in zip(sql.measures, py.measures, strict=True):
        assert (a.key, a.period_keys, a.aggregation) == (b.key, b.period_keys, b.aggregation)
        assert close(a.total, b.total), (a.key, a.total, b.total)
        assert close(a.target, b.target) and close(a.period_target, b.period_target)
        assert len(a.by_org) == len(b.by_org)
        for x, y in zip(a.by_org, b.by_org, strict=True):
            assert x.name == y.name and close(x.value, y.value) and close(x.target, y.target), (
                a.key,
                x,
                y,
            )
        assert [k for k, _ in a.history] == [k for k, _ in b.history]
        for (_, x), (_, y) in zip(a.history, b.history, strict=True):
            assert close(x, y), (a.key, a.history, b.history)


# --- one backend ----------------------------------------------------------------------------


CANDIDATE_INDEXES = (
    (
        "bench_ix_checkins_answered_at",
        "CREATE INDEX bench_ix_checkins_answered_at ON checkins (answered_at)",
    ),
)


def print_statements(statements: list[tuple[float, str, Any]], title: str, top: int) -> None:
    """Statement times (execute + fetch in the driver), slowest first, with their source."""
    total = sum(seconds for seconds, _, _ in statements)
    print(f"{title}, {total * 1000:.1f} ms in all, slowest first:")
    for seconds, statement, _ in statements[:top]:
        print(
            f"    {seconds * 1000:8.1f} ms  {source_of(statement):<28} {short_sql(statement, 70)}"
        )


def show_timed(label: str, runs: list[Timed]) -> Timed:
    best = min(runs, key=lambda r: r.total)
    all_runs = ", ".join(f"{r.total:.3f}" for r in runs)
    print(f"{label}: best {best.total:.3f} s (runs: {all_runs})")
    for name, seconds in best.parts.items():
        print(f"    {name:<54} {seconds * 1000:9.1f} ms")
    return best


async def bench_backend(
    backend: str, url: str, shape: Shape, runs: int, baseline_runs: int, index_test: bool
) -> dict[str, Any]:
    print(
        f"\n=== {backend}: {shape.organisations} organisations, {shape.members:,} members, "
        f"{shape.weeks} weeks to {shape.last.key} ===",
        flush=True,
    )
    db = Database(url)
    result: dict[str, Any] = {"backend": backend}
    try:
        reset_peak_rss()
        gen = await generate(db, shape)
        result.update(gen)
        result["rss_generation_mb"] = peak_rss_mb()
        print(
            f"generated {gen['deliveries']:,} deliveries, {gen['checkins']:,} check-ins, "
            f"{gen['revisions']:,} revisions in {gen['generation_s']:.1f} s "
            f"({gen['python_rows_s']:.1f} s of it building dicts); "
            f"ANALYZE {gen['analyze_s']:.1f} s",
            flush=True,
        )
        period = shape.last
        log = StatementLog(db)

        reset_peak_rss()
        (digest, png, body, _), timings = await best_of(runs, lambda: sql_digest(db, period))
        best = show_timed(f"SQL digest with chart, best of {runs}", timings)
        result["rss_digest_mb"] = peak_rss_mb()
        result["digest_s"] = best.total
        result["digest_parts"] = best.parts
        print(
            f"    ({len(digest.responses)} organisations, {digest.delivered:,} delivered, "
            f"{digest.answered:,} answered, {len(digest.quiet)} quiet, "
            f"{sum(len(p.people) for p in digest.pending):,} pending, "
            f"{len(digest.groups)} exercise groups; PNG {len(png):,} bytes, "
            f"text {len(body.splitlines()):,} lines)"
        )

        parts = await digest_parts(db, period, runs)
        print(f"compute_digest by part (best of {runs} each):")
        for name, seconds in parts:
            print(f"    {name:<54} {seconds * 1000:9.1f} ms")
        result["parts"] = parts

        statements = await log.record(lambda: sql_digest(db, period))
        print_statements(statements, f"statements of one digest ({len(statements)})", 8)
        for seconds, statement, params in statements[:2]:
            print(f"plan of {source_of(statement)} ({seconds * 1000:.1f} ms):")
            for line in await explain(db, statement, params):
                print(f"    {line}")
        slowest = statements[0]
        result["slowest_sql"] = [slowest[0], source_of(slowest[1])]

        if index_test:
            result["index_tests"] = await try_indexes(db, period, runs, log, slowest[1])

        reset_peak_rss()
        (py_digest, _), baseline_results = await best_of(
            baseline_runs, lambda: baseline_digest(db, period)
        )
        base = show_timed(f"baseline (rows into Python), best of {baseline_runs}", baseline_results)
        result["rss_baseline_mb"] = peak_rss_mb()
        check_same(digest, py_digest)
        print(
            "    correctness: per-organisation answered/delivered (this and last week, quiet), "
            "measure totals, per-org figures, history, on-time reporting and pending list "
            "all equal the SQL digest's"
        )
        result["baseline_s"] = base.total
        result["baseline_parts"] = base.parts
        result["ratio"] = best.total / base.total
        print(
            f"ratio SQL/baseline: {result['ratio']:.3f} (target <= {RATIO_TARGET}; "
            f"{'ok' if result['ratio'] <= RATIO_TARGET else 'MISSED'})"
        )
    finally:
        await db.dispose()
    return result


async def try_indexes(
    db: Database, period: Period, runs: int, log: StatementLog, slowest: str
) -> list[dict[str, Any]]:
    """Create each candidate index (in this benchmark database only), time the digest again,
    and drop it."""
    found = []
    for name, ddl in CANDIDATE_INDEXES:
        async with db.engine.begin() as conn:
            t0 = time.perf_counter()
            await conn.execute(text(ddl))
            built = time.perf_counter() - t0
            table = ddl.split(" ON ")[1].split()[0]
            await conn.exec_driver_sql(f"ANALYZE {table}")
        _, timings = await best_of(runs, lambda: sql_digest(db, period))
        best = show_timed(f"with {name} (built in {built:.1f} s), best of {runs}", timings)
        print(f"compute_digest by part with {name} (best of {runs} each):")
        for part, seconds in await digest_parts(db, period, runs):
            print(f"    {part:<54} {seconds * 1000:9.1f} ms")
        statements = await log.record(lambda: sql_digest(db, period))
        print_statements(statements, f"statements with {name}", 4)
        same = [s for s in statements if s[1] == slowest]
        if same:
            print(f"plan of {source_of(slowest)} with {name} ({same[0][0] * 1000:.1f} ms now):")
            for line in await explain(db, same[0][1], same[0][2]):
                print(f"    {line}")
        found.append({"index": name, "digest_s": best.total, "parts": best.parts})
        async with db.engine.begin() as conn:  # back to the shipped schema for the baseline
            await conn.execute(text(f"DROP INDEX {name}"))
    return found


async def child(args: argparse.Namespace) -> None:
    shape = Shape(args.organisations, args.per_org, args.weeks, Period.parse_key(args.last))
    result: dict[str, Any] = {"backend": args.backend}
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/digest.db"
            result = await bench_backend(
                "sqlite", url, shape, args.runs, args.baseline_runs, not args.no_index_test
            )
            result["db_mb"] = db_size_mb(Path(tmp))
    else:
        with postgres(False) as server:
            if server is None:
                result["skipped"] = "the PostgreSQL server could not start"
            else:
                url = server.create_database("bench_digest")
                result = await bench_backend(
                    "postgresql", url, shape, args.runs, args.baseline_runs, not args.no_index_test
                )
    if args.result:
        save(Path(args.result), result)


def db_size_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir()) / 2**20


def save(path: Path, result: dict[str, Any]) -> None:
    path.write_text(json.dumps(result, default=str))


# --- the parent: one child process per backend, then the table --------------------------------


def summary(results: list[dict[str, Any]], runs: int, baseline_runs: int) -> str:
    header = (
        "backend",
        "deliveries",
        "check-ins",
        "generation",
        f"digest (best of {runs})",
        f"baseline (best of {baseline_runs})",
        "ratio",
        "with index",
        "peak RSS gen/digest/baseline",
    )
    rows = [header]
    for r in results:
        if "digest_s" not in r:
            rows.append(
                (r["backend"], "-", "-", "-", "-", "-", "-", "-", r.get("skipped", "failed"))
            )
            continue
        tests = r.get("index_tests") or []
        indexed = ", ".join(f"{t['digest_s']:.3f} s" for t in tests) or "-"
        rss = (
            f"{r['rss_generation_mb']:.0f} / {r['rss_digest_mb']:.0f} / "
            f"{r['rss_baseline_mb']:.0f} MB"
        )
        rows.append(
            (
                r["backend"],
                f"{r['deliveries']:,}",
                f"{r['checkins']:,}",
                f"{r['generation_s']:.0f} s",
                f"{r['digest_s']:.3f} s",
                f"{r['baseline_s']:.2f} s",
                f"{r['ratio']:.3f}",
                indexed,
                rss,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)) for row in rows]
    rule = "-" * len(lines[0])
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


def parent(args: argparse.Namespace) -> None:
    print("Digest benchmark: one week's digest with its chart, SQL vs rows into Python")
    print(versions())
    results = []
    backends = ["sqlite"] if args.no_pg else ["sqlite", "postgresql"]
    for backend in backends:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            path = Path(handle.name)
        command = [sys.executable, str(Path(__file__).resolve()), "--backend", backend]
        command += ["--result", str(path), "--weeks", str(args.weeks), "--last", args.last]
        command += ["--organisations", str(args.organisations), "--per-org", str(args.per_org)]
        command += ["--runs", str(args.runs), "--baseline-runs", str(args.baseline_runs)]
        command += ["--no-index-test"] if args.no_index_test else []
        code = subprocess.run(command, check=False).returncode
        try:
            result = json.loads(path.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            result = {}
        finally:
            path.unlink(missing_ok=True)
        if code != 0 or not result:
            result = {"backend": backend, "skipped": f"child exited with {code}"}
        results.append(result)
    print()
    print(
        f"Digest of {args.last} with its chart; ratio = SQL digest / baseline, "
        f"target <= {RATIO_TARGET}; 'with index' = SQL digest after "
        + ", ".join(name for name, _ in CANDIDATE_INDEXES)
    )
    print(summary(results, args.runs, args.baseline_runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=WEEKS)
    parser.add_argument("--last", default=LAST_WEEK, help="the digest's week, e.g. 2026-W49")
    parser.add_argument("--organisations", type=int, default=ORGANISATIONS)
    parser.add_argument("--per-org", type=int, default=PER_ORG, help="members per organisation")
    parser.add_argument("--runs", type=int, default=3, help="digest runs (best is shown)")
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-index-test", action="store_true", help="skip CANDIDATE_INDEXES")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        asyncio.run(child(args))
    else:
        parent(args)


if __name__ == "__main__":
    main()
