"""Shared pieces of the benchmarks: the alliance generator, an instant port, setup and printing.

Nothing here asserts on timings: the benchmarks print figures, they are not tests.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import itertools
import pstats
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import apscheduler
import sqlalchemy
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.ports import Attachment, Destination, Outgoing, Reply, ReplyTo, Sent
from bot.runtime import Runtime
from bot.storage.records import Delivery
from tests.pgserver import PostgresServer, PostgresUnavailable

# 40 real IANA zones whose UTC offset is a whole number of hours (all year round, so the date
# below does not matter much): with the schedule "0 * * * *" every one of them fires at the
# same UTC minute. Each zone gets one organisation, with a plausible country code.
ZONES: tuple[tuple[str, str], ...] = (
    ("Atlantic/Reykjavik", "IS"),
    ("Europe/London", "GB"),
    ("Europe/Lisbon", "PT"),
    ("Europe/Berlin", "DE"),
    ("Europe/Paris", "FR"),
    ("Europe/Madrid", "ES"),
    ("Europe/Rome", "IT"),
    ("Europe/Athens", "GR"),
    ("Europe/Helsinki", "FI"),
    ("Europe/Istanbul", "TR"),
    ("Europe/Moscow", "RU"),
    ("Africa/Lagos", "NG"),
    ("Africa/Cairo", "EG"),
    ("Africa/Nairobi", "KE"),
    ("Africa/Johannesburg", "ZA"),
    ("Asia/Dubai", "AE"),
    ("Asia/Karachi", "PK"),
    ("Asia/Dhaka", "BD"),
    ("Asia/Bangkok", "TH"),
    ("Asia/Jakarta", "ID"),
    ("Asia/Shanghai", "CN"),
    ("Asia/Singapore", "SG"),
    ("Asia/Tokyo", "JP"),
    ("Asia/Seoul", "KR"),
    ("Australia/Sydney", "AU"),
    ("Australia/Brisbane", "AU"),
    ("Pacific/Auckland", "NZ"),
    ("Pacific/Honolulu", "US"),
    ("America/Anchorage", "US"),
    ("America/Los_Angeles", "US"),
    ("America/Denver", "US"),
    ("America/Phoenix", "US"),
    ("America/Chicago", "US"),
    ("America/Mexico_City", "MX"),
    ("America/New_York", "US"),
    ("America/Bogota", "CO"),
    ("America/Lima", "PE"),
    ("America/Santiago", "CL"),
    ("America/Sao_Paulo", "BR"),
    ("Atlantic/Azores", "PT"),
)
SCHEDULE = "0 * * * *"
PROMPT = "name-a-barrier"  # a text prompt from the shipped library: any reply is a valid answer
START = datetime(2025, 3, 5, 8, 59, 30, tzinfo=UTC)  # a Wednesday, no DST change nearby
FIRE = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)  # 09:00 UTC = minute 0 local in all 40 zones
MEMBERS = 10_000
ROOT = Path(__file__).resolve().parent.parent
CHECKIN_TARGET = 100 * 30_000 / 3600  # 100 × Slack's average per-workspace event rate


def check_zones(at: datetime = FIRE) -> None:
    """Fail loudly if a zone would not fire at ``at`` (its offset is not whole hours)."""
    for zone, _ in ZONES:
        offset = at.astimezone(ZoneInfo(zone)).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            raise SystemExit(f"{zone} is not a whole-hour zone at {at:%Y-%m-%d %H:%M} UTC")
    if len({z for z, _ in ZONES}) != len(ZONES):
        raise SystemExit("ZONES lists a zone twice")


def alliance_yaml(members: int = MEMBERS, zones: Sequence[tuple[str, str]] = ZONES) -> str:
    """An alliance: one organisation per zone, ``members`` spread evenly, one hourly campaign."""
    lines = [
        "alliance: {name: Bench Alliance, default_timezone: UTC}",
        "organisations:",
    ]
    for i, (zone, country) in enumerate(zones):
        lines.append(
            f"  - {{slug: org-{i:02d}, name: Org {i:02d}, kind: library, "
            f"country: {country}, timezone: {zone}}}"
        )
    lines.append("members:")
    for n in range(members):
        lines.append(
            f"  - {{id: m{n:05d}, name: Member {n}, organisation: org-{n % len(zones):02d}}}"
        )
    lines += [
        "campaigns:",
        "  - key: hourly",
        "    name: Hourly pulse",
        f"    prompts: [{PROMPT}]",
        f'    schedule: "{SCHEDULE}"',
        "    catch_up: 3h",
        "",
    ]
    return "\n".join(lines)


class InstantPort:
    """A ChatPort that accepts every send at once; it remembers who got which message."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self._refs = itertools.count(1)
        self.sent: list[tuple[str, str]] = []
        """(recipient's platform id, message_ref) of every send, in order."""
        self.marked = 0

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        ref = f"msg-{next(self._refs)}"
        self.sent.append((to.target, ref))
        return Sent(ref, thread_ref=to.thread, address=to.target)

    async def reply(self, to: ReplyTo, reply: Reply, *, key: str, attempt: int = 0) -> Sent:
        return Sent(f"r{key}", address=to.channel)

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        return Sent(f"file-{next(self._refs)}", address=to.target)

    async def mark_answered(self, sent: Sent, to: Destination, summary: str) -> None:
        self.marked += 1


@dataclass
class FanOut:
    """A started runtime whose campaign has fanned out (and, if asked, sent) to every member."""

    runtime: Runtime
    port: InstantPort
    clock: ManualClock
    figures: dict[str, float] = field(default_factory=dict)


async def count(runtime: Runtime, *where: Any, model: Any = Delivery) -> int:
    async with runtime.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def pause_background_dispatcher(runtime: Runtime) -> None:
    """Stop the runtime's background sending, so ticks and drains are measured alone."""
    await runtime.pause_dispatch()


async def start_runtime(
    url: str, tmp: Path, members: int = MEMBERS, *, profile: bool = False
) -> FanOut:
    """Write the alliance file and start a Runtime (ManualClock, instant port) whose outbox is
    sent only when drained, so ticks and drains are measured alone. Times load and start."""
    check_zones()
    path = tmp / "alliance.yaml"
    path.write_text(alliance_yaml(members), encoding="utf-8")
    clock = ManualClock(START)
    port = InstantPort("console")
    runtime = Runtime(
        url,
        clock,
        {"console": port},
        alliance_file=path,
        real_time=False,
        background_dispatch=False,
    )
    with profiled("runtime.start()", profile):
        t0 = time.perf_counter()
        await runtime.start()
        figures = {"start_s": time.perf_counter() - t0}
    return FanOut(runtime, port, clock, figures)


async def fan_out(run: FanOut, *, send: bool = True, profile: bool = False) -> None:
    """Move the clock past the fire time, tick (timed) and, if ``send``, drain (timed)."""
    runtime = run.runtime
    before = await count(runtime)
    run.clock.set(FIRE + timedelta(seconds=30))
    with profiled("planner.tick()", profile):
        t0 = time.perf_counter()
        returned = await runtime.planner.tick()
        run.figures["tick_s"] = time.perf_counter() - t0
    run.figures["tick_returned"] = returned
    run.figures["deliveries"] = await count(runtime) - before
    if not send:
        return
    sent_before = await count(runtime, Delivery.status == "sent")
    with profiled("dispatcher.drain()", profile):
        t0 = time.perf_counter()
        drained = await runtime.dispatcher.drain()
        run.figures["drain_s"] = time.perf_counter() - t0
    run.figures["drain_returned"] = drained
    run.figures["sent"] = await count(runtime, Delivery.status == "sent") - sent_before


# --- PostgreSQL ------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres(skip: bool) -> Iterator[PostgresServer | None]:
    """A throwaway server, or None with a printed note when it cannot start."""
    if skip:
        print("PostgreSQL: skipped (--no-pg)")
        yield None
        return
    server = PostgresServer()
    try:
        server.start()
    except (PostgresUnavailable, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"PostgreSQL: skipped, the server could not start ({first})")
        yield None
        return
    try:
        yield server
    finally:
        server.stop()


# --- profiling and printing ------------------------------------------------------------------


@contextlib.contextmanager
def profiled(label: str, enabled: bool, top: int = 18) -> Iterator[None]:
    """cProfile the block (every task the loop runs meanwhile) and print the hottest functions."""
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        print(f"\n--- profile of {label}: own time by package ---")
        for package, seconds in by_package(profiler)[:10]:
            print(f"{seconds:8.3f} s  {package}")
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
            stats.print_stats(top)
            body = out.getvalue()
            start = body.find("   ncalls")
            print(f"\n--- profile of {label}, by {order} ---")
            print(body[start:].rstrip() if start >= 0 else body.rstrip())


def by_package(profiler: cProfile.Profile) -> list[tuple[str, float]]:
    """Own (tottime) seconds summed per package: sqlalchemy, aiosqlite, bot, asyncio, C..."""
    totals: dict[str, float] = {}
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        package = _package(filename, name)
        totals[package] = totals.get(package, 0.0) + tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def _package(filename: str, name: str) -> str:
    if filename == "~":
        return f"C: {name.strip('<>').replace('built-in method ', '')}"
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    if str(ROOT) in filename:
        return Path(filename).relative_to(ROOT).parts[0]
    if "python3" in filename:
        stdlib = [p for p in parts if p.startswith("python3")]
        rest = parts[parts.index(stdlib[-1]) + 1 :]
        return f"stdlib {rest[0].removesuffix('.py')}" if rest else "stdlib"
    return filename


def versions() -> str:
    py = ".".join(map(str, sys.version_info[:3]))
    return (
        f"Python {py}, SQLAlchemy {sqlalchemy.__version__}, APScheduler {apscheduler.__version__}"
    )


def table(title: str, rows: Sequence[tuple[str, str, str]]) -> str:
    """Three columns: figure, value, note (target or ratio)."""
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    rule = "-" * (sum(widths) + 6)
    out = [title, rule]
    for name, value, note in rows:
        out.append(f"{name:<{widths[0]}}  {value:>{widths[1]}}  {note}".rstrip())
    out.append(rule)
    return "\n".join(out)


def per_s(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")
