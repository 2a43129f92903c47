"""Weeks of generated history on PostgreSQL, written by the database itself (INSERT ... SELECT
over generate_series), so millions of rows take a minute rather than an hour.

The reference rows (alliance, organisations, members, prompts, measures, targets, campaigns) are
bench/digest_data.py's. Then, week by week in time order (ids grow with time, as in life): one
exercise prompt per member on Monday 09:00 UTC, four exercises in rotation, nine in ten
answered within a day; and in the week that holds the 1st of a month, the three measure prompts
of the previous month to each reporting member, most answered. Then ANALYZE. The rows are
consistent by construction, so foreign keys are not checked row by row (the throwaway server's
superuser sets ``session_replication_role``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.digest_data import EXERCISES, MEASURES, Shape, reference_rows, utc
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.storage.database import Database

_EXERCISES = "ARRAY[" + ", ".join(f"'{e}'" for e in EXERCISES) + "]"
_DELIVERY = (
    "INSERT INTO deliveries (id, dedupe_key, kind, campaign_id, prompt_id, measure_id, "
    "member_id, organisation_id, period_key, occurrence, locale, scheduled_at, status, "
    "attempts, sent_at, platform, address, message_ref, reminders_sent, payload, created_at, "
    "lane) "
)
_CHECKIN = (
    "INSERT INTO checkins (id, delivery_id, member_id, organisation_id, prompt_id, measure_id, "
    "period_key, answer_text, answer_number, source, platform, answered_at, starred, "
    "shareable) "
)


async def _week(conn: AsyncConnection, shape: Shape, index: int, week: Period) -> None:
    """One week of exercise prompts (ids index*members + n) and their answers."""
    base, per, members = index * shape.members, shape.per_org, shape.members
    exercise = f"({_EXERCISES})[{1 + index % 4}]"
    params = {"at": utc(week.start, 9), "key": week.key}
    await conn.execute(
        text(
            _DELIVERY + f"SELECT {base} + n, 'ex:{index}:' || n, 'prompt', 1, {exercise}, NULL, "
            f"n, (n - 1) / {per} + 1, CAST(:key AS varchar), 'weekly', 'en', "
            "CAST(:at AS timestamptz), 'sent', 1, CAST(:at AS timestamptz), 'console', 'm' || n, "
            f"'msg-' || ({base} + n), 0, '{{}}', CAST(:at AS timestamptz), 1 "
            f"FROM generate_series(1, {members}) AS n ORDER BY n"
        ),
        params,
    )
    await conn.execute(
        text(
            _CHECKIN + f"SELECT {base} + n, {base} + n, n, (n - 1) / {per} + 1, {exercise}, "
            "NULL, CAST(:key AS varchar), 'It went well.', NULL, 'text', 'console', "
            "CAST(:at AS timestamptz) + make_interval(mins => 30 + n % 1200), n % 97 = 0, "
            f"n % 5 = 0 FROM generate_series(1, {members}) AS n "
            f"WHERE (n * 7 + {index * 3}) % 10 <> 0 ORDER BY n"
        ),
        params,
    )


async def _figures(conn: AsyncConnection, shape: Shape, first_id: int, week: Period) -> int:
    """The monthly measure prompts of the month before ``week``, if ``week`` holds a 1st."""
    days = (week.start + timedelta(days=d) for d in range(7))
    first = next((day for day in days if day.day == 1), None)
    if first is None:
        return first_id
    month = Period.containing(first - timedelta(days=1), PeriodKind.MONTH)
    params = {"at": utc(first, 10), "key": month.key}
    per, orgs = shape.per_org, shape.organisations
    for measure, spec in enumerate(MEASURES, start=1):
        base, span = first_id, spec.high - spec.low + 1
        await conn.execute(
            text(
                _DELIVERY + f"SELECT {base} + o, 'fig:{month.key}:{measure}:' || o, 'prompt', 2, "
                f"'{spec.prompt_id}', {measure}, (o - 1) * {per} + 1, o, "
                "CAST(:key AS varchar), 'monthly', 'en', CAST(:at AS timestamptz), 'sent', 1, "
                f"CAST(:at AS timestamptz), 'console', 'm' || ((o - 1) * {per} + 1), "
                f"'fig-' || ({base} + o), 0, '{{}}', CAST(:at AS timestamptz), 1 "
                f"FROM generate_series(1, {orgs}) AS o ORDER BY o"
            ),
            params,
        )
        await conn.execute(
            text(
                _CHECKIN + f"SELECT {base} + o, {base} + o, (o - 1) * {per} + 1, o, "
                f"'{spec.prompt_id}', {measure}, CAST(:key AS varchar), '', "
                f"{spec.low} + (o * 37) % {span}, 'number', 'console', "
                "CAST(:at AS timestamptz) + make_interval(hours => o % 200), false, false "
                f"FROM generate_series(1, {orgs}) AS o WHERE o % 13 <> 0 ORDER BY o"
            ),
            params,
        )
        first_id += orgs
    return first_id


async def generate(db: Database, shape: Shape) -> dict[str, int]:
    """Fill a migrated, empty PostgreSQL database; returns the row counts."""
    assert not db.is_sqlite, "this generator writes PostgreSQL's SQL"
    now = utc(shape.last.end)
    async with db.engine.begin() as conn:
        for table, rows in reference_rows(shape, now):
            for start in range(0, len(rows), 20_000):
                await conn.execute(insert(table), rows[start : start + 20_000])
    next_id = shape.weeks * shape.members + 1
    for index, week in enumerate(shape.week_list()):
        async with db.engine.begin() as conn:
            # Generated rows are consistent by construction: no foreign-key trigger per row.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await _week(conn, shape, index, week)
            next_id = await _figures(conn, shape, next_id, week)
    counts: dict[str, int] = {}
    async with db.engine.begin() as conn:
        for table in ("organisations", "members", "deliveries", "checkins"):
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
            counts[table] = int(
                (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            )
        await conn.execute(text("ANALYZE"))
    return counts
