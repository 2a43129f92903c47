"""Digest benchmark data generation: deliveries, check-ins and revisions week by week
(Activity), bulk inserts into the benchmark database, then ANALYZE."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.digest_data import (
    ANSWER_RATE,
    ANSWERS,
    CHUNK,
    EXERCISES,
    FIGURE_RATE,
    FLUSH,
    MEASURES,
    QUIET_EVERY,
    Shape,
    reference_rows,
    utc,
)
from bot.digest.compute import QUIET_PERIODS
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.storage.database import Database
from bot.storage.records import CheckIn, CheckInRevision, Delivery


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
