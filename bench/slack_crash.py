"""Slack after a crash: SIGKILL in the middle of a 500-member batch, then a restart.

    .venv/bin/python bench/slack_crash.py [--members N] [--cap PER_MINUTE] [--no-pg]

The bot runs as a real ``alliance-bot run`` process (tests/botprocess.py); the fake Web API runs
in its own process (this script with ``--serve-fake``: the fake of bench/slack_fakeserver.py plus
a route listing every call it got). The fake enforces a workspace cap (default 6,000 messages a
minute: Slack's ~600 scaled 10x, as bench/slack_dms.py does) and one message a second per
channel; the bot paces to the same figures and to Tier 3 scaled the same way (50 -> 500 a
minute). The campaign's due deliveries are prepared in the database first; the bot is killed
once half the prompts reached the fake, then started again and left to finish.

Printed, per database: sends in flight at the kill (rows ``sending``), conversations.history
look-ups after the restart and their ratio to the sends in flight (target <= 1), seconds from
the restart to the first new post, duplicates at the fake, and the baseline: the old behaviour
where every row of the interrupted batch not yet recorded sent needs a look-up, at Slack's real
Tier 3 rate (50 a minute). Nothing here asserts: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bench.common import table
from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.storage.database import Database
from bot.storage.records import Delivery
from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack import TOKEN, FakeSlack
from tests.fakeslack_parts import Limits
from tests.pgserver import PostgresServer, PostgresUnavailable

ROOT = Path(__file__).resolve().parent.parent
SELF = Path(__file__).resolve()
REAL_TIER3_PER_MINUTE = 50.0
REAL_CAP_PER_MINUTE = 600.0
LOG = Path(os.environ["CRASH_BENCH_LOG"]) if os.environ.get("CRASH_BENCH_LOG") else None


class CallLog(FakeSlack):
    """The fake, with GET /_fake/calls: [method, time.monotonic(), ok, looks for a post]."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/_fake/calls", self._call_log)

    async def _call_log(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                [
                    c.method,
                    c.at,
                    c.ok,
                    c.method == "conversations.history" and "latest" not in c.body,
                ]
                for c in self.calls
            ]
        )


async def serve_fake(cap: float) -> None:
    fake = await CallLog(
        limits=Limits(channel_per_second=1, workspace_per_minute=cap, workspace_burst=10),
        max_calls=1_000_000,
    ).start()
    print(fake.api_url, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


@asynccontextmanager
async def fake_process(cap: float) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SELF), "--serve-fake", "--cap", str(cap),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        yield (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    finally:
        process.terminate()
        await process.wait()


async def fake_get(api_url: str, what: str) -> Any:
    url = api_url.removesuffix("/api/") + f"/_fake/{what}"

    def get() -> Any:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    return await asyncio.to_thread(get)


def alliance(members: int, fire: datetime) -> str:
    lines = [
        "alliance: {name: Crash bench, default_timezone: UTC}",
        "organisations:",
        "  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}",
        "members:",
    ]
    lines += [
        f'  - {{id: m{n:05d}, name: M{n}, organisation: org, slack: "T0TEST:U0M{n:05d}"}}'
        for n in range(members)
    ]
    lines += [
        "campaigns:",
        "  - {key: pulse, name: Pulse, prompts: [name-a-barrier], "
        f"schedule: '{fire:%M %H} * * *', timezone: UTC}}",
    ]
    return "\n".join(lines) + "\n"


async def prepare(url: str, file: Path, fire: datetime, api_url: str) -> int:
    """The campaign's due deliveries, made by a runtime that never sends; their number."""
    clock = ManualClock(fire - timedelta(minutes=1))
    port = SlackPort(TOKEN, clock, api_url=api_url, pacing=Pacing.unlimited())
    runtime = Runtime(url, clock, {"slack": port}, alliance_file=file, real_time=False,
                      background_dispatch=False, stop_timeout=0)  # fmt: skip
    await runtime.start()
    try:
        clock.set(fire + timedelta(seconds=5))
        return await runtime.planner.tick()
    finally:
        await runtime.stop()
        await port.close()


async def count(db: Database, *statuses: str) -> int:
    async with db.session() as s:
        query = select(func.count(Delivery.id)).where(Delivery.status.in_(statuses))
        return int(await s.scalar(query) or 0)


async def crash(url: str, tmp: Path, members: int, cap: float) -> dict[str, float]:
    """Kill the bot half way through the batch, restart it, let it finish; the figures."""
    fire = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    file = tmp / "alliance.yaml"
    file.write_text(alliance(members, fire), encoding="utf-8")
    db = Database(url)
    async with fake_process(cap) as api:
        due = await prepare(url, file, fire, api)
        tier3 = REAL_TIER3_PER_MINUTE * cap / REAL_CAP_PER_MINUTE
        env = bot_env(url, tmp / "data", SLACK__API_URL=api, SLACK__BOT_TOKEN=TOKEN,
                      SLACK__SIGNING_SECRET="bench", SLACK__PORT=str(free_port()),
                      SLACK__WORKSPACE_PER_MINUTE=str(cap), SLACK__CHANNEL_PER_SECOND="1",
                      SLACK__TIER3_PER_MINUTE=str(tier3), CONSOLE__ENABLED="false")  # fmt: skip
        bot = BotProcess(env, LOG or tmp / "bot.log")
        try:
            await bot.start()

            async def half_posted() -> bool:
                return int((await fake_get(api, "stats"))["posted"]) >= members // 2

            await bot.until(half_posted, "half the prompts posted", 300, 0.02)
            await bot.kill()
            in_flight = await count(db, "sending")
            unrecorded = await count(db, "sending", "pending")
            restart = time.monotonic()
            await bot.start()

            async def done() -> bool:
                return await count(db, "sending", "pending") == 0

            await bot.until(done, "every prompt sent", 600, 0.2)
            finished = time.monotonic()
            await bot.terminate()
        finally:
            await bot.close()
            await db.dispose()
        calls = [c for c in await fake_get(api, "calls") if c[1] >= restart]
        stats = await fake_get(api, "stats")
    posts = [at for method, at, ok, _ in calls if method == "chat.postMessage" and ok]
    up = [at for method, at, *_ in calls if method == "auth.test"]
    lookups = [at for *_, at, _ok, lookup in calls if lookup]
    return {
        "due": due,
        "in_flight": in_flight,
        "unrecorded": unrecorded,
        "lookups": len(lookups),
        "lookups_done_s": max(lookups) - restart if lookups else 0.0,
        "first_post_s": min(posts) - restart if posts else float("nan"),
        "up_s": min(up) - restart if up else float("nan"),
        "finish_s": finished - restart,
        "posted": stats["posted"],
        "duplicates": stats["duplicates"],
        "rate_limited": stats["rate_limited"],
        "tier3": tier3,
    }


def rows(name: str, r: dict[str, float]) -> list[tuple[str, str, str]]:
    ratio = r["lookups"] / r["in_flight"] if r["in_flight"] else float("nan")
    baseline_s = r["unrecorded"] * 60 / REAL_TIER3_PER_MINUTE
    ours_s = r["lookups"] * 60 / REAL_TIER3_PER_MINUTE
    verdict = "(ok)" if r["lookups"] <= r["in_flight"] else "(MISSED)"
    return [
        (f"[{name}] in flight at the kill", f"{r['in_flight']:.0f}",
         f"rows `sending`; {r['unrecorded']:.0f} of {r['due']:.0f} not yet recorded sent"),
        (f"[{name}] history look-ups after restart", f"{r['lookups']:.0f}",
         f"ratio to in flight {ratio:.2f}; target <= 1 {verdict}"),
        (f"[{name}] restart -> first new post", f"{r['first_post_s']:.2f} s",
         f"{r['up_s']:.2f} s of it starting the process (to auth.test), then "
         f"{r['first_post_s'] - r['up_s']:.2f} s; look-ups done at {r['lookups_done_s']:.1f} s, "
         f"all sent at {r['finish_s']:.1f} s"),
        (f"[{name}] duplicates at Slack", f"{r['duplicates']:.0f}",
         f"{r['posted']:.0f} prompts posted; {r['rate_limited']:.0f} calls answered 429"),
        (f"[{name}] baseline look-ups", f"{r['unrecorded']:.0f}",
         f"every unrecorded row; ours/baseline {r['lookups'] / max(r['unrecorded'], 1):.3f}"),
        (f"[{name}] look-up time at 50/min", f"{ours_s:.0f} s",
         f"baseline {baseline_s:.0f} s ({baseline_s / 60:.1f} min); "
         f"ratio {ours_s / baseline_s if baseline_s else float('nan'):.3f}"),
    ]  # fmt: skip


def load() -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    quiet = "quiet" if one < 0.5 * cores else "NOT quiet"
    return f"{quiet}: load average {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores"


async def main(members: int, cap: float, with_pg: bool) -> None:
    logging.getLogger("bot.runtime").setLevel(logging.ERROR)  # prepare() stops before sending
    print(f"Before: {load()}")
    print(f"{members} Slack members, cap {cap:,.0f}/min, SIGKILL once half are posted...")
    table_rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        sqlite = Path(tmp) / "sqlite"
        sqlite.mkdir()
        result = await crash(f"sqlite+aiosqlite:///{sqlite}/bot.db", sqlite, members, cap)
        table_rows += rows("sqlite", result)
        if with_pg:
            try:
                with PostgresServer() as pg:
                    pgdir = Path(tmp) / "pg"
                    pgdir.mkdir()
                    result = await crash(pg.create_database("crash"), pgdir, members, cap)
                    table_rows += rows("postgresql", result)
            except PostgresUnavailable as exc:
                print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
    print()
    print(table(f"Slack after a SIGKILL mid-batch ({sys.version.split()[0]})", table_rows))
    print(f"After: {load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--cap", type=float, default=6_000.0, help="workspace cap per minute")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        asyncio.run(serve_fake(args.cap))
    else:
        asyncio.run(main(args.members, args.cap, not args.no_pg))
