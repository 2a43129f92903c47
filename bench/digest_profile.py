"""Digest benchmark: the digest as shipped, timed (sql_digest, best_of, show_timed), timed by
part, its SQL statements logged (StatementLog) with their source and plans (EXPLAIN), and the
candidate-index experiments (try_indexes)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text

from bot.digest.chart import render_png
from bot.digest.compute import _rates, compute_digest, pending_people, window
from bot.digest.highlights import exercise_groups, highlights
from bot.digest.measures import measure_figures, reporting_rates
from bot.digest.model import Digest
from bot.digest.render import DigestRenderer
from bot.domain.periods import Period
from bot.storage import models as m
from bot.storage.database import Database

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
        await timed("_pending", pending_people(s, start, end, []))
        await timed("reporting_rates", reporting_rates(s, period, zone, None))
        await timed("exercise_groups", exercise_groups(s, start, end, None))
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
    ("PARTITION BY checkins.prompt_id", "highlights.exercise_groups"),
    ("checkins.starred", "highlights.highlights"),
    ("FROM prompts", "storage.load_prompts"),
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
            for row in rows:
                node, parent, _, detail = tuple(row)
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * depth[node] + str(detail))
            return lines
        sql = "EXPLAIN (ANALYZE, BUFFERS) " + statement
        return [str(r[0]) for r in (await conn.exec_driver_sql(sql, params)).all()]


# --- candidate indexes and printing -------------------------------------------------------


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
