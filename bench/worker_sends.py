"""Sends a second with one ``alliance-bot run`` worker against three, on one PostgreSQL, over
three Slack workspaces whose caps are set high (the fake Slack of the tests).

    .venv/bin/python bench/worker_sends.py   # [--members 3000] [--latency 0.15] [--runs 2]

Each run gets a fresh database: the campaign's prompts are prepared as due, the app is
installed in the three workspaces (tokens sealed in the database), then the workers start. The
fake answers each call after ``--latency`` seconds, as Slack's Web API takes a while to answer
(0 for an instant fake). Printed for each run: the sends a second between the first and the last
prompt Slack received, the time from start to every prompt recorded sent, 429s and duplicates;
then the ratio of three workers to one (the best of the runs of each). The baseline is one
worker, which is what the bot was before several could share an outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bench.common import postgres
from bot.storage.database import Database
from bot.storage.records import Delivery
from tests.botprocess import BotProcess
from tests.fakeslack_oauth import MultiSlack
from tests.fakeslack_parts import Limits
from tests.pgserver import PostgresServer
from tests.workspaces import alliance, installed, prepare, three_workspaces, worker_env

HIGH_CAP = 600_000.0
"""Messages a minute per workspace: far above what the workers reach."""


def load_note() -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    quiet = "quiet" if one < 0.5 * cores else "NOT quiet"
    return f"{quiet}: load average {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores"


class SlowSlack(MultiSlack):
    """The fake, answering each Web API call after ``latency`` seconds."""

    latency: float = 0.0

    async def _api(self, request: web.Request) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super()._api(request)


async def sent(url: str) -> int:
    db = Database(url)
    try:
        async with db.session() as s:
            return int(
                await s.scalar(select(func.count(Delivery.id)).where(Delivery.status == "sent"))
                or 0
            )
    finally:
        await db.dispose()


async def run(
    server: PostgresServer, name: str, workers: int, members: int, latency: float, folder: Path
) -> dict[str, Any]:
    url = await asyncio.to_thread(server.create_database, name)
    base = three_workspaces(members, Limits(workspace_per_minute=HIGH_CAP, workspace_burst=100))
    fake = SlowSlack(teams=base.teams, limits=base.limits, max_calls=10 * members)
    fake.latency = latency
    await fake.start()
    fire = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    file = folder / f"{name}.yaml"
    file.write_text(alliance(fire, members), encoding="utf-8")
    await prepare(url, file, fire)
    await installed(url, fake)
    bots = [
        BotProcess(
            worker_env(url, folder / f"{name}-data{i}", fake, HIGH_CAP),
            folder / f"{name}-{i}.log",
        )
        for i in range(workers)
    ]
    started = time.monotonic()
    try:
        for bot in bots:
            await bot.start()
        while await sent(url) < members:
            if not all(b.running for b in bots):
                raise RuntimeError(f"a worker stopped:\n{bots[0].tail()}")
            if time.monotonic() - started > 600:
                raise RuntimeError(f"not all sent in 10 minutes:\n{bots[0].tail()}")
            await asyncio.sleep(0.2)
        total = time.monotonic() - started
        posts = [c for c in fake.calls if c.method == "chat.postMessage" and c.ok]
        span = max(c.at for c in posts) - min(c.at for c in posts)
        per_channel = Counter(str(c.body.get("channel")) for c in posts)
        return {
            "rate": len(posts) / span if span > 0 else float("inf"),
            "total": total,
            "posts": len(posts),
            "duplicates": sum(n - 1 for n in per_channel.values()),
            "429s": fake.rate_limited,
        }
    finally:
        for bot in bots:
            await bot.close()
        await fake.stop()


async def main(members: int, latency: float, runs: int) -> None:
    logging.getLogger("bot.runtime").setLevel(logging.ERROR)  # prepare() stops unsent
    print(f"Sends a second, 1 worker against 3, {members} members over 3 Slack workspaces")
    print(f"Python {sys.version.split()[0]}; fake Slack latency {latency} s; {load_note()}")
    with tempfile.TemporaryDirectory(prefix="worker-sends-") as tmp, postgres(False) as server:
        if server is None:
            return
        best: dict[int, float] = {}
        for r in range(runs):
            for workers in (1, 3):
                f = await run(server, f"sends_{workers}_{r}", workers, members, latency, Path(tmp))
                best[workers] = max(best.get(workers, 0.0), f["rate"])
                print(
                    f"  run {r + 1}, {workers} worker{'s' if workers > 1 else ' '}: "
                    f"{f['rate']:7.1f} sends/s (first to last post); all recorded sent "
                    f"{f['total']:5.1f} s after start; posts {f['posts']}, duplicates "
                    f"{f['duplicates']}, 429s {f['429s']}"
                )
        print(
            f"Best: 1 worker {best[1]:.1f} sends/s, 3 workers {best[3]:.1f} sends/s; "
            f"ratio 3/1 {best[3] / best[1]:.2f}"
        )
    print(f"After: {load_note()} (this run included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.latency, args.runs))
