"""Ingest benchmark: 10,000 members reply to their prompt at once; how fast are check-ins stored?

    .venv/bin/python bench/ingest.py [--members N] [--concurrency C] [--no-pg] [--profile]

A fan-out first sends one prompt to each member (not timed here: see fanout.py). Then one reply
event per member (a MessageReceived in the prompt's thread) is submitted at the same instant to
``Runtime.handle`` through asyncio.gather, at most C of them running at a time. Prints check-ins
stored per second against the target (100 × Slack's average per-workspace event rate, 30,000
events an hour: >= 833/s), and the p50/p99 time from submission to stored.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    CHECKIN_TARGET,
    FIRE,
    MEMBERS,
    count,
    fan_out,
    per_s,
    postgres,
    profiled,
    start_runtime,
    table,
    versions,
)
from bot.events import MessageReceived
from bot.ports import Reply
from bot.storage.records import CheckIn

REPLY = "Nobody knew who owned the shared calendar; a named owner would have fixed it."


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def verdict(replies: list[Reply]) -> str:
    """A short name for the bot's answer: recorded, or what went wrong."""
    if not replies:
        return "no reply"
    text = replies[0].text
    if text.startswith("Sorry, something went wrong"):
        return "error (SORRY)"
    return "recorded" if replies[0].quoted else f"other: {text[:40]}"


async def ingest(url: str, members: int, concurrency: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        run = await start_runtime(url, Path(tmp), members)
        runtime = run.runtime
        try:
            await fan_out(run, send=True)
            prompts = list(run.port.sent)
            run.clock.set(FIRE + timedelta(minutes=5))
            now = run.clock.now()
            events = [
                MessageReceived(
                    platform="console",
                    event_id=f"reply-{n}",
                    sender=member,  # a member's console identity is their id
                    at=now,
                    channel=f"dm:{member}",
                    is_direct=True,
                    text=REPLY,
                    thread=ref,
                )
                for n, (member, ref) in enumerate(prompts)
            ]
            before = await _checkins(runtime)
            gate = asyncio.Semaphore(concurrency)

            async def one(event: MessageReceived, submitted: float) -> tuple[float, float, str]:
                async with gate:
                    started = time.perf_counter()
                    replies = await runtime.handle(event)
                done = time.perf_counter()
                return done - submitted, done - started, verdict(replies)

            with profiled("runtime.handle() × all replies", profile):
                t0 = time.perf_counter()
                results = await asyncio.gather(*(one(e, t0) for e in events))
                elapsed = time.perf_counter() - t0
            await runtime.tasks.wait()  # the mark_answered calls on_answered spawned
            stored = await _checkins(runtime) - before
        finally:
            await runtime.stop()
    latencies = [r[0] for r in results]
    service = [r[1] for r in results]
    return {
        "prompts": len(prompts),
        "events": len(events),
        "stored": stored,
        "elapsed": elapsed,
        "p50": quantile(latencies, 0.50),
        "p99": quantile(latencies, 0.99),
        "svc_p50": quantile(service, 0.50),
        "svc_p99": quantile(service, 0.99),
        "svc_mean": statistics.fmean(service),
        "verdicts": Counter(r[2] for r in results),
        "marked": run.port.marked,
    }


async def _checkins(runtime: Any) -> int:
    return await count(runtime, model=CheckIn)


def rows_for(label: str, r: dict[str, Any], concurrency: int) -> list[tuple[str, str, str]]:
    rate = per_s(r["stored"], r["elapsed"])
    verdicts = ", ".join(f"{k} {v}" for k, v in r["verdicts"].most_common())
    ok = "ok" if rate >= CHECKIN_TARGET else "MISSED"
    return [
        (f"[{label}] prompts out / replies submitted", f"{r['prompts']} / {r['events']}", ""),
        (f"[{label}] check-ins stored", f"{r['stored']}", verdicts),
        (f"[{label}] wall time", f"{r['elapsed']:.2f} s", f"gather, concurrency {concurrency}"),
        (
            f"[{label}] check-ins / s",
            f"{rate:,.0f}",
            f"target >= {CHECKIN_TARGET:.0f} ({ok}); ratio {rate / CHECKIN_TARGET:.2f}",
        ),
        (f"[{label}] submit->stored p50", f"{r['p50'] * 1000:,.0f} ms", "includes queueing"),
        (f"[{label}] submit->stored p99", f"{r['p99'] * 1000:,.0f} ms", "includes queueing"),
        (
            f"[{label}] handle() alone p50 / p99",
            f"{r['svc_p50'] * 1000:.1f} / {r['svc_p99'] * 1000:.1f} ms",
            f"mean {r['svc_mean'] * 1000:.1f} ms, after the semaphore",
        ),
        (f"[{label}] prompts marked answered", f"{r['marked']}", "port.mark_answered calls"),
    ]


async def main(members: int, concurrency: int, skip_pg: bool, profile: bool) -> None:
    print(f"Ingest: {members:,} replies submitted at once, concurrency {concurrency}")
    print(versions())
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-db-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        rows += rows_for("sqlite", await ingest(url, members, concurrency, profile), concurrency)
    with postgres(skip_pg) as server:
        if server is not None:
            url = server.create_database("bench_ingest")
            result = await ingest(url, members, concurrency, profile)
            rows += rows_for("postgresql", result, concurrency)
    print()
    print(table(f"Ingest results ({versions()})", rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.concurrency, args.no_pg, args.profile))
