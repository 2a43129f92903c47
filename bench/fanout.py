"""Fan-out benchmark: one campaign, 10,000 members in 40 time zones, all due in the same minute.

    .venv/bin/python bench/fanout.py [--members N] [--no-pg] [--profile]

Prints figures (never asserts on them): scheduler jobs and memory against a one-job-per-member
APScheduler baseline, deliveries created per second by the planner's tick, sends per second
through the dispatcher; on SQLite and, when it can start, PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bench.common import (
    MEMBERS,
    SCHEDULE,
    ZONES,
    fan_out,
    per_s,
    postgres,
    start_runtime,
    table,
    versions,
)
from bot.scheduling.scheduler import Scheduler

T = TypeVar("T")
JOBS_PER_MEMBER_TARGET = 0.001


async def traced(build: Callable[[], Awaitable[T]]) -> tuple[T, int]:
    """Run ``build`` under tracemalloc; return its result and the bytes still held after it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = await build()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return result, held


# --- the baseline: one APScheduler 3 job per member ----------------------------------------


async def remind_member(member: int) -> None:  # the baseline's job function (never runs)
    return None


def member_zone(n: int) -> str:
    return ZONES[n % len(ZONES)][0]


async def baseline_scheduler(members: int) -> AsyncIOScheduler:
    aps = AsyncIOScheduler(timezone="UTC")
    for n in range(members):
        aps.add_job(
            remind_member,
            CronTrigger.from_crontab(SCHEDULE, timezone=ZoneInfo(member_zone(n))),
            args=[n],
            id=f"member:{n}",
            replace_existing=True,
        )
    return aps


async def baseline(members: int) -> dict[str, float]:
    t0 = time.perf_counter()
    aps = await baseline_scheduler(members)
    create_s = time.perf_counter() - t0
    jobs = len(aps.get_jobs())
    del aps
    held_aps, held = await traced(lambda: baseline_scheduler(members))
    del held_aps
    return {"jobs": jobs, "create_s": create_s, "mem_bytes": held}


# --- ours: one job per campaign, one fan-out per due minute ----------------------------------


async def ours(url: str, members: int, profile: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        run = await start_runtime(url, Path(tmp), members, profile=profile)
        try:
            planner = run.runtime.planner
            warm = Scheduler(planner)  # fills SQLAlchemy's statement cache first
            await warm.rebuild()
            del warm
            t0 = time.perf_counter()
            scheduler = Scheduler(planner)
            await scheduler.rebuild()  # not started: job_count is the campaign jobs only
            run.figures["rebuild_s"] = time.perf_counter() - t0
            run.figures["jobs"] = scheduler.job_count
            del scheduler

            async def build() -> Scheduler:
                built = Scheduler(planner)
                await built.rebuild()
                return built

            kept, run.figures["mem_bytes"] = await traced(build)
            del kept
            await fan_out(run, send=True, profile=profile)
        finally:
            t0 = time.perf_counter()
            await run.runtime.stop()
            run.figures["stop_s"] = time.perf_counter() - t0
    return run.figures


def rows_for(label: str, f: dict[str, float], base: dict[str, float], members: int) -> list[Any]:
    per_k = members / 1000
    jobs_pm = f["jobs"] / members
    base_pm = base["jobs"] / members
    mem_k = f["mem_bytes"] / per_k / 1024
    base_mem_k = base["mem_bytes"] / per_k / 1024
    ok = "ok" if jobs_pm <= JOBS_PER_MEMBER_TARGET else "MISSED"
    return [
        (f"[{label}] alliance load + start", f"{f['start_s']:.2f} s", "validate, load, 1st tick"),
        (f"[{label}] scheduler jobs", f"{f['jobs']:.0f}", f"baseline {base['jobs']:.0f}"),
        (
            f"[{label}] jobs per member",
            f"{jobs_pm:.5f}",
            f"target <= {JOBS_PER_MEMBER_TARGET} ({ok}); ours/baseline {jobs_pm / base_pm:.5f}",
        ),
        (f"[{label}] scheduler rebuild", f"{f['rebuild_s'] * 1000:.1f} ms", ""),
        (
            f"[{label}] scheduling memory / 1k members",
            f"{mem_k:.2f} KiB",
            f"baseline {base_mem_k:.1f} KiB; ours/baseline {mem_k / base_mem_k:.4f}",
        ),
        (
            f"[{label}] deliveries created",
            f"{f['deliveries']:.0f}",
            f"in {f['tick_s']:.2f} s (tick returned {f['tick_returned']:.0f})",
        ),
        (f"[{label}] deliveries / s", f"{per_s(f['deliveries'], f['tick_s']):,.0f}", "tick"),
        (
            f"[{label}] sends",
            f"{f['sent']:.0f}",
            f"in {f['drain_s']:.2f} s (drain returned {f['drain_returned']:.0f})",
        ),
        (f"[{label}] sends / s", f"{per_s(f['sent'], f['drain_s']):,.0f}", "dispatcher.drain"),
        (f"[{label}] runtime stop", f"{f['stop_s']:.2f} s", ""),
    ]


async def main(members: int, skip_pg: bool, profile: bool) -> None:
    print(f"Fan-out: {members:,} members in {len(ZONES)} zones, schedule {SCHEDULE!r}")
    print(versions())
    base = await baseline(members)
    per_k = members / 1000
    rows: list[Any] = [
        ("[baseline] APScheduler jobs", f"{base['jobs']:.0f}", "one per member, not started"),
        ("[baseline] jobs per member", f"{base['jobs'] / members:.3f}", ""),
        ("[baseline] time to create jobs", f"{base['create_s']:.2f} s", ""),
        (
            "[baseline] memory / 1k members",
            f"{base['mem_bytes'] / per_k / 1024:.1f} KiB",
            f"total {base['mem_bytes'] / 2**20:.1f} MiB",
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-fanout-db-") as tmp:
        sqlite = await ours(f"sqlite+aiosqlite:///{tmp}/bench.db", members, profile)
    rows += rows_for("sqlite", sqlite, base, members)
    with postgres(skip_pg) as server:
        if server is not None:
            url = server.create_database("bench_fanout")
            rows += rows_for("postgresql", await ours(url, members, profile), base, members)
    print()
    print(table(f"Fan-out results ({versions()})", rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="cProfile the tick and the drain")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.no_pg, args.profile))
