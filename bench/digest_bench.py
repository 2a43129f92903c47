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
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import postgres, versions
from bench.digest_baseline import baseline_digest, check_same
from bench.digest_data import LAST_WEEK, ORGANISATIONS, PER_ORG, WEEKS, Shape
from bench.digest_generate import generate
from bench.digest_profile import (
    CANDIDATE_INDEXES,
    StatementLog,
    best_of,
    digest_parts,
    explain,
    print_statements,
    show_timed,
    source_of,
    sql_digest,
    try_indexes,
)
from bot.domain.periods import Period
from bot.storage.database import Database

RATIO_TARGET = 0.1


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


# --- one backend ----------------------------------------------------------------------------


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
