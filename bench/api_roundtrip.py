"""The read-only API's round-trip time for a 10,000-member alliance, against what a competent
user would write instead: the same figures read with straightforward SQLAlchemy queries.

    .venv/bin/python bench/api_roundtrip.py   # [--members 10000] [--weeks 13]
                                              # [--organisations 500] [--runs 30]

One throwaway PostgreSQL database is filled by the server itself (``tests/history.py``, as
bench/digest_scale.py does: 500 organisations of 20 members in five time zones, one exercise
prompt per member and week, nine in ten answered and one in five of those shared, and each
organisation's monthly figures), then ANALYZE. The API is served by a process of its own (this
script with ``--serve``: the bot's aiohttp routes, ``adapters/api``, on 127.0.0.1), so client
and server do not share an event loop. Each call runs R times over one keep-alive connection
after a warm-up; printed: the median and the 95th percentile.

Calls: the organisations (first page of 100), the measures with November's figures for every
organisation, the response rates of the last week (first page of 100, and all 500 through
``next``), and check-ins for staff and for a reader (the first page of 100, and a page in the
middle, reached through its cursor). Baselines, in process on the same database (no HTTP, no
JSON): the first 100 organisations; ``measure_figures`` (what the digest uses) for November;
one GROUP BY over deliveries LEFT JOIN check-ins for the week's rates of all organisations;
check-ins with their member and organisation by ``ORDER BY id LIMIT 100 OFFSET n`` (the first
page and the middle one). It prints, never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import and_, func, select

from adapters.api.server import api_routes
from bench.common import postgres
from bench.digest_data import LAST_WEEK, Shape
from bot.api import ReadApi, tokens
from bot.api.params import make_cursor
from bot.clock import SystemClock
from bot.digest.compute import window
from bot.digest.measures import measure_figures
from bot.domain.periods import Period
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery
from tests.botprocess import free_port
from tests.history import generate

SELF = Path(__file__).resolve()
MONTH = "2026-11"


def load_note(after: bool = False) -> str:
    one, five, fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    verdict = "quiet" if one < max(1.0, 0.25 * cpus) else "NOT quiet"
    return (
        f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cpus} CPUs "
        f"({'this run included' if after else verdict})"
    )


async def serve(url: str, port: int) -> None:
    """The API alone, as ``alliance-bot run`` serves it, until SIGTERM."""
    db = Database(url)
    app = web.Application()
    app.add_routes(api_routes(ReadApi(db, SystemClock())))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await runner.cleanup()
    await db.dispose()


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(median, p95) in milliseconds after one warm-up call."""
    await work()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.items = 0

    async def get(self, path: str, token: str, **params: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        url = path if path.startswith("http") else self.base + path
        async with self.http.get(url, params=params, headers=headers) as response:
            body: dict[str, Any] = await response.json()
            assert response.status == 200, body
        self.items = len(body["data"])
        return body

    async def walk(self, path: str, token: str, **params: str) -> None:
        body = await self.get(path, token, **params)
        count = len(body["data"])
        while body["next"]:
            body = await self.get(self.base + body["next"], token)
            count += len(body["data"])
        self.items = count


def _sent_in(period: Period) -> Any:
    start, end = window(period, "UTC")
    return and_(
        Delivery.kind == "prompt",
        Delivery.member_id.is_not(None),
        Delivery.status == "sent",
        Delivery.scheduled_at >= start,
        Delivery.scheduled_at < end,
    )


def baselines(
    db: Database, week: Period, middle: int, shared_middle: int
) -> dict[str, Callable[[], Awaitable[Any]]]:
    """What a competent user would write against the database instead of calling the API."""

    async def organisations() -> Any:
        async with db.session() as s:
            return (
                await s.scalars(select(m.Organisation).order_by(m.Organisation.id).limit(100))
            ).all()

    async def measures() -> Any:
        async with db.session() as s:
            return await measure_figures(s, Period.parse_key(MONTH), None)

    def rates(first: int | None) -> Callable[[], Awaitable[Any]]:
        async def grouped() -> Any:
            async with db.session() as s:
                query = (
                    select(m.Organisation.slug, func.count(Delivery.id), func.count(CheckIn.id))
                    .join(Delivery, Delivery.organisation_id == m.Organisation.id)
                    .outerjoin(
                        CheckIn,
                        and_(
                            CheckIn.delivery_id == Delivery.id,
                            CheckIn.member_id == Delivery.member_id,
                        ),
                    )
                    .where(_sent_in(week))
                    .group_by(m.Organisation.slug)
                )
                if first is not None:
                    query = query.where(m.Organisation.id <= first)
                return (await s.execute(query)).all()

        return grouped

    def checkins(offset: int, shared: bool) -> Callable[[], Awaitable[Any]]:
        async def page() -> Any:
            query = (
                select(CheckIn, m.Member.handle, m.Member.display_name, m.Organisation.slug)
                .join(m.Member, m.Member.id == CheckIn.member_id)
                .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
                .order_by(CheckIn.id)
                .offset(offset)
                .limit(100)
            )
            if shared:
                query = query.where(CheckIn.shareable.is_(True))
            async with db.session() as s:
                return (await s.execute(query)).all()

        return page

    return {
        "organisations": organisations,
        "measures": measures,
        "rates page": rates(100),
        "rates, all": rates(None),
        "staff first": checkins(0, False),
        "staff middle": checkins(middle, False),
        "reader first": checkins(0, True),
        "reader middle": checkins(shared_middle, True),
    }


async def measure(server_url: str, runs: int, members: int, weeks: int, orgs: int) -> None:
    db = Database(server_url)
    week = Period.parse_key(LAST_WEEK)
    shape = Shape(orgs, max(1, members // orgs), weeks, week)
    await db.upgrade()
    began = time.perf_counter()
    counts = await generate(db, shape)
    print(
        f"  {shape.members:,} members, {weeks} weeks: {counts['deliveries']:,} deliveries, "
        f"{counts['checkins']:,} check-ins (generated in {time.perf_counter() - began:.0f} s)"
    )
    async with db.session() as s:
        now = datetime.now(UTC)
        _, staff = await tokens.create(s, "bench staff", tokens.Role.STAFF, at=now)
        _, reader = await tokens.create(s, "bench reader", tokens.Role.READER, at=now)
        total = int(await s.scalar(select(func.count(CheckIn.id))) or 0)
        ids = select(CheckIn.id).order_by(CheckIn.id).offset(total // 2).limit(1)
        middle_id = int(await s.scalar(ids) or 0)
        shared_total = int(
            await s.scalar(select(func.count(CheckIn.id)).where(CheckIn.shareable)) or 0
        )
        shared_ids = (
            select(CheckIn.id)
            .where(CheckIn.shareable)
            .order_by(CheckIn.id)
            .offset(shared_total // 2)
            .limit(1)
        )
        shared_middle = int(await s.scalar(shared_ids) or 0)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SELF),
        "--serve",
        server_url,
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    await process.stdout.readline()
    results: dict[str, tuple[float, float, int]] = {}
    try:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as http:
            c = Client(http, f"http://127.0.0.1:{port}")
            calls: dict[str, Callable[[], Awaitable[Any]]] = {
                "organisations": lambda: c.get("/api/v1/organisations", reader),
                "measures": lambda: c.get("/api/v1/measures", reader, period=MONTH),
                "rates page": lambda: c.get("/api/v1/response-rates", reader, period=LAST_WEEK),
                "rates, all": lambda: c.walk("/api/v1/response-rates", reader, period=LAST_WEEK),
                "staff first": lambda: c.get("/api/v1/checkins", staff),
                "staff middle": lambda: c.get(
                    "/api/v1/checkins", staff, cursor=make_cursor("checkins", middle_id)
                ),
                "reader first": lambda: c.get("/api/v1/checkins", reader),
                "reader middle": lambda: c.get(
                    "/api/v1/checkins", reader, cursor=make_cursor("checkins", shared_middle)
                ),
            }
            for name, call in calls.items():
                median, p95 = await timed(runs, call)
                results[name] = (median, p95, c.items)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    base = baselines(db, week, total // 2, shared_total // 2)
    print(f"  {'call':<15} {'items':>6} {'API median':>11} {'p95':>8}   {'baseline':>9}   ratio")
    for name, (median, p95, items) in results.items():
        b_median, _ = await timed(runs, base[name])
        print(
            f"  {name:<15} {items:>6} {median:>8.1f} ms {p95:>5.1f} ms  {b_median:>6.1f} ms"
            f"   {median / b_median:>5.2f}"
        )
    await db.dispose()


async def main(members: int, weeks: int, organisations: int, runs: int) -> None:
    print("API round trip, PostgreSQL, loopback HTTP (server in its own process)")
    print(f"Python {sys.version.split()[0]}; {load_note()}")
    with postgres(False) as server:
        if server is None:
            return
        await measure(server.create_database("api_roundtrip"), runs, members, weeks, organisations)
    print(load_note(after=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.port))
    else:
        asyncio.run(main(args.members, args.weeks, args.organisations, args.runs))
