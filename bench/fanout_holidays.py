"""Holiday fan-out benchmark: a skip_holidays campaign on a public holiday against an ordinary day.

    .venv/bin/python bench/fanout_holidays.py [--members N] [--no-pg] [--probe-ms MS]

100,000 members (by default) of the 40 organisations of bench/common.py (one country each),
taken in turn, so consecutive members belong to different countries. One daily campaign with
``skip_holidays: true`` and ``timezone: UTC`` fans out to all of them at once: on 2026-11-11,
a public holiday in France and the US (8 of the 40 organisations), every fifth row or so is
SKIPPED among PENDING rows; on 2026-11-18 no country has a holiday. Each day runs on a database
of its own, loaded alike, through the planner's ``tick()`` (as ``Runtime`` builds it).

While each fan-out runs, an "answer" task opens a short write transaction every ~100 ms on the
same database (it reads a delivery, as an answer finds its prompt, and records a handled event,
as an answer does) and times it: its latency is the wait for the write lock plus the work.

Prints figures, never asserts: both wall times and their ratio (target <= 1.5), the INSERT
statements sent for the deliveries table, and the answers' max and p99 latency during the
holiday fan-out (target <= 1 s); on SQLite and, when it can start, PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import holidays
from sqlalchemy import event, func, select

from bench.common import PROMPT, ZONES, postgres, table, versions
from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.clock import ManualClock
from bot.scheduling.planner import CHUNK_PAUSE_SHARE, CHUNK_ROWS, Planner
from bot.storage.database import Database
from bot.storage.records import Delivery, ProcessedEvent

MEMBERS = 100_000
HOLIDAY = date(2026, 11, 11)  # Armistice Day in France, Veterans Day in the US; a Wednesday
ORDINARY = date(2026, 11, 18)  # the Wednesday after: no holiday in any of the 40 countries
RATIO_TARGET = 1.5
WAIT_TARGET_S = 1.0


def alliance_yaml(members: int) -> str:
    """The 40 organisations of bench/common.py; member n belongs to organisation n % 40."""
    lines = ["alliance: {name: Holiday Bench Alliance, default_timezone: UTC}", "organisations:"]
    for i, (zone, country) in enumerate(ZONES):
        lines.append(
            f"  - {{slug: org-{i:02d}, name: Org {i:02d}, kind: library, "
            f"country: {country}, timezone: {zone}}}"
        )
    lines.append("members:")
    lines += [
        f"  - {{id: m{n:06d}, name: Member {n}, organisation: org-{n % len(ZONES):02d}}}"
        for n in range(members)
    ]
    lines += [
        "campaigns:",
        "  - key: daily",
        "    name: Daily pulse",
        f"    prompts: [{PROMPT}]",
        '    schedule: "0 9 * * *"',
        "    timezone: UTC",
        "    catch_up: 3h",
        "    skip_holidays: true",
        "",
    ]
    return "\n".join(lines)


def holiday_countries(day: date) -> list[str]:
    countries = sorted({country for _, country in ZONES})
    return [c for c in countries if day in holidays.country_holidays(c, years=day.year)]


@dataclass
class Run:
    """What one fan-out did and how long it and the answers meanwhile took."""

    day: date
    seconds: float = 0.0
    created: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    inserts: int = 0
    waits: list[float] = field(default_factory=list)


@contextlib.contextmanager
def counting_inserts(db: Database) -> Iterator[list[int]]:
    counted = [0]

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            counted[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield counted
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


async def answer_once(db: Database, n: int) -> None:
    """A short write transaction like an answer's: find a prompt, record the event handled."""
    async with db.session() as s:
        await s.scalar(select(Delivery.id).order_by(Delivery.id.desc()).limit(1))
        s.add(ProcessedEvent(platform="bench", event_id=f"answer-{n}"))


@contextlib.asynccontextmanager
async def answering(db: Database, every_s: float, waits: list[float]) -> AsyncIterator[None]:
    """Answer every ``every_s`` seconds for the ``async with`` block; note each latency."""
    stop = asyncio.Event()

    async def loop() -> None:
        n = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            await answer_once(db, n)
            waits.append(time.perf_counter() - t0)
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, every_s - waits[-1]))

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


async def prepared(url: str, tmp: Path, members: int, day: date) -> tuple[Database, Planner]:
    """A migrated, loaded database whose campaign cursor stands at noon the day before."""
    path = tmp / f"alliance-{members}.yaml"
    if not path.exists():
        path.write_text(alliance_yaml(members), encoding="utf-8")
    spec, problems = validate_file(path)
    if spec is None:
        raise SystemExit(f"the bench alliance does not validate: {problems[:3]}")
    db = Database(url)
    await db.upgrade()
    await load_alliance(db, spec)
    eve = datetime.combine(day - timedelta(days=1), clock_time(12), tzinfo=UTC)
    planner = Planner(db, ManualClock(eve), ["console"])
    await planner.tick()  # the first look places the cursor
    return db, planner


async def fan_out(url: str, tmp: Path, members: int, day: date, every_s: float) -> Run:
    db, planner = await prepared(url, tmp, members, day)
    run = Run(day)
    try:
        clock = planner.clock
        assert isinstance(clock, ManualClock)
        clock.set(datetime.combine(day, clock_time(9, 0, 30), tzinfo=UTC))
        with counting_inserts(db) as inserts:
            async with answering(db, every_s, run.waits):
                t0 = time.perf_counter()
                run.created = await planner.tick()
                run.seconds = time.perf_counter() - t0
        run.inserts = inserts[0]
        async with db.session() as s:
            rows = await s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
            run.statuses = {status: int(n) for status, n in rows.all()}
    finally:
        await db.dispose()
    return run


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] if ordered else 0.0


def rows_for(label: str, ordinary: Run, holiday: Run) -> list[tuple[str, str, str]]:
    ratio = holiday.seconds / ordinary.seconds if ordinary.seconds > 0 else float("inf")
    wait_max = max(holiday.waits, default=0.0)
    out: list[tuple[str, str, str]] = []
    for name, run in (("ordinary day", ordinary), ("holiday", holiday)):
        counts = ", ".join(f"{n:,} {status}" for status, n in sorted(run.statuses.items()))
        out += [
            (f"[{label}] {name} {run.day} fan-out", f"{run.seconds:.2f} s", counts),
            (f"[{label}] {name} INSERTs (deliveries)", f"{run.inserts:,}", ""),
            (
                f"[{label}] {name} answer waits",
                f"max {max(run.waits, default=0.0) * 1000:.0f} ms",
                f"p99 {p99(run.waits) * 1000:.0f} ms over {len(run.waits)} answers",
            ),
        ]
    out += [
        (
            f"[{label}] holiday / ordinary",
            f"{ratio:.2f}",
            f"target <= {RATIO_TARGET} ({'ok' if ratio <= RATIO_TARGET else 'MISSED'})",
        ),
        (
            f"[{label}] longest answer wait, holiday",
            f"{wait_max:.3f} s",
            f"target <= {WAIT_TARGET_S:.0f} s ({'ok' if wait_max <= WAIT_TARGET_S else 'MISSED'})",
        ),
    ]
    return out


async def backend(label: str, urls: list[str], members: int, every_s: float) -> list[Any]:
    """A small warm-up fan-out, then the ordinary day, then the holiday, each on a new database."""
    with tempfile.TemporaryDirectory(prefix="bench-holidays-") as tmp:
        await fan_out(urls[0], Path(tmp), min(members, 2_000), ORDINARY, every_s)
        ordinary = await fan_out(urls[1], Path(tmp), members, ORDINARY, every_s)
        holiday = await fan_out(urls[2], Path(tmp), members, HOLIDAY, every_s)
    return rows_for(label, ordinary, holiday)


def load_note(ours: bool = False) -> str:
    """The load average; before a run, whether the machine looks quiet (after, it counts ours)."""
    one, five, fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    verdict = "quiet" if one < max(1.0, 0.25 * cpus) else "NOT quiet"
    note = "this run included" if ours else verdict
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cpus} CPUs ({note})"


async def main(members: int, skip_pg: bool, every_s: float) -> None:
    print(f"Holiday fan-out: {members:,} members in {len(ZONES)} organisations, one run")
    print(versions())
    print(f"holiday {HOLIDAY}: public holiday in {', '.join(holiday_countries(HOLIDAY))}")
    print(f"ordinary {ORDINARY}: holidays in {holiday_countries(ORDINARY) or 'none'}")
    print(
        f"planner: {CHUNK_ROWS:,} rows a transaction, then (SQLite) a pause of "
        f"{CHUNK_PAUSE_SHARE:.0%} of its time; an answer every {every_s * 1000:.0f} ms"
    )
    print(f"before: {load_note()}")
    rows: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="bench-holidays-db-") as tmp:
        urls = [f"sqlite+aiosqlite:///{tmp}/{name}.db" for name in ("warm", "ordinary", "holiday")]
        rows += await backend("sqlite", urls, members, every_s)
    print(f"after SQLite: {load_note(ours=True)}")
    with postgres(skip_pg) as server:
        if server is not None:
            urls = [server.create_database(f"bench_hol_{n}") for n in ("warm", "ord", "hol")]
            rows += await backend("postgresql", urls, members, every_s)
            print(f"after PostgreSQL: {load_note(ours=True)}")
    print()
    print(table(f"Holiday fan-out results ({versions()})", rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--probe-ms", type=float, default=100.0, help="ms between answers")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.no_pg, args.probe_ms / 1000))
