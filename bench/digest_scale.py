"""A staff digest on PostgreSQL at 10,000 and 100,000 members, with 13 and with 110 weeks of
history: the digest should cost what its period holds, not what history holds.

    .venv/bin/python bench/digest_scale.py   # [--members 10000 100000] [--weeks 13 110]
                                             # [--organisations 500] [--runs 3]

Each size gets a database of its own on one throwaway PostgreSQL server, filled by the server
itself (``tests/history.py``: one exercise prompt per member and week, nine in ten answered; the
monthly figures of each organisation), then ANALYZE. Then the digest of the last week
(2026-W49, which holds the monthly figures run), best of R:

- compute: ``compute_digest`` alone, and each of its parts alone;
- digest: ``staff_digest`` as the ``digest`` command runs it (compute, chart, text), with the
  chart already drawn (the cache under the data dir), and the first time (drawing it).

The ratio of 110 weeks to 13 weeks should be near 1; the target is a digest in 2 s or less at
100,000 members. It prints, never asserts. 100,000 members × 110 weeks is 11 million
deliveries: generating it takes some minutes and about 10 GB of disk, freed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import postgres
from bench.digest_data import LAST_WEEK, Shape
from bench.digest_profile import digest_parts
from bot.digest.build import staff_digest
from bot.digest.chartcache import ChartCache
from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from bot.storage.database import Database
from tests.history import generate
from tests.pgserver import PostgresServer

TARGET_S = 2.0


def load_note(after: bool = False) -> str:
    """The load average; before a run, whether the machine looks quiet (after, it counts ours)."""
    one, five, fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    verdict = "quiet" if one < max(1.0, 0.25 * cpus) else "NOT quiet"
    return (
        f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cpus} CPUs "
        f"({'this run included' if after else verdict})"
    )


async def best(runs: int, work: object) -> float:
    assert callable(work)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return min(times)


async def measure(
    server: PostgresServer, members: int, weeks: int, organisations: int, runs: int, tmp: Path
) -> dict[str, float]:
    name = f"digest_{members}_{weeks}"
    db = Database(server.create_database(name))
    period = Period.parse_key(LAST_WEEK)
    shape = Shape(organisations, max(1, members // organisations), weeks, period)
    try:
        await db.upgrade()
        began = time.perf_counter()
        counts = await generate(db, shape)
        made = time.perf_counter() - began
        print(
            f"  {shape.members:,} members, {weeks} weeks: {counts['deliveries']:,} deliveries, "
            f"{counts['checkins']:,} check-ins (generated in {made:.0f} s)"
        )

        async def compute() -> None:
            async with db.session() as s:
                await compute_digest(s, period)

        charts = ChartCache(tmp / name)

        async def digest(cache: ChartCache) -> None:
            async with db.session() as s:
                await staff_digest(s, period, charts=cache)

        await compute()  # warm: connections, the prompt cache
        figures = {
            "compute": await best(runs, compute),
            "first": await best(1, lambda: digest(charts)),
            "digest": await best(runs, lambda: digest(charts)),
        }
        print(
            f"    compute_digest {figures['compute']:.3f} s; digest {figures['digest']:.3f} s "
            f"(chart cached), {figures['first']:.3f} s drawing the chart; best of {runs}"
        )
        for part, seconds in await digest_parts(db, period, runs):
            print(f"      {part:<32} {seconds * 1000:8.1f} ms")
        return figures
    finally:
        await db.dispose()
        admin = Database(server.url())
        try:
            async with admin.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        finally:
            await admin.dispose()


async def main(members: list[int], weeks: list[int], organisations: int, runs: int) -> None:
    print("Digest time by history length, PostgreSQL")
    print(f"Python {sys.version.split()[0]}; {load_note()}")
    with tempfile.TemporaryDirectory(prefix="digest-scale-") as folder, postgres(False) as server:
        if server is None:
            return
        results: dict[tuple[int, int], dict[str, float]] = {}
        for size in members:
            for length in weeks:
                results[(size, length)] = await measure(
                    server, size, length, organisations, runs, Path(folder)
                )
        print("Summary (best of runs, seconds):")
        print(f"  {'members':>8} " + " ".join(f"{w:>5}w compute  digest" for w in weeks))
        for size in members:
            cells = [results[(size, w)] for w in weeks]
            row = " ".join(f"{c['compute']:>14.3f} {c['digest']:>7.3f}" for c in cells)
            ratio = ""
            if len(weeks) > 1:
                short, long = cells[0], cells[-1]
                ratio = (
                    f"  {weeks[-1]}w/{weeks[0]}w: compute {long['compute'] / short['compute']:.2f}"
                    f", digest {long['digest'] / short['digest']:.2f}"
                )
            met = ""
            if size >= 100_000:
                worst = max(c["digest"] for c in cells)
                met = f"  target <= {TARGET_S} s: {'met' if worst <= TARGET_S else 'NOT met'}"
            print(f"  {size:>8,} {row}{ratio}{met}")
    print(load_note(after=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--weeks", type=int, nargs="+", default=[13, 110])
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.weeks, args.organisations, args.runs))
