"""Slack delivery benchmark: 10,000 DMs through the outbox, the Slack port and a fake Web API.

    .venv/bin/python bench/slack_dms.py [--dms N] [--cap PER_MINUTE] [--skip-capped]

1. Capped: the fake enforces a workspace cap (default 6,000 a minute: Slack's ~600 scaled up
   10x, so the run takes minutes, not hours) and one message a second per channel; the port
   paces to the same figures. Prints messages delivered per minute as a ratio of the cap
   (target >= 0.95) and the share of calls answered 429 (target < 1%).
2. Unlimited: the fake enforces nothing and the port does not pace. Prints sends per second
   relative to one workspace's real cap (600 a minute, 10 a second): the headroom (target
   >= 50x), through the whole outbox (planner deliveries, dispatcher, SQLite) and through the
   port alone (32 sends at a time, as the dispatcher runs them).

The fake runs in its own process (bench/slack_fakeserver.py), so its CPU time is not ours.
Nothing here asserts: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bench.common import pause_background_dispatcher, table
from bot.clock import ManualClock
from bot.ports import Destination, DestinationKind, Outgoing
from bot.runtime import Runtime
from tests.fakeslack import TOKEN

REAL_CAP_PER_MINUTE = 600.0
START = datetime(2026, 3, 4, 8, 59, tzinfo=UTC)
FIRE = datetime(2026, 3, 4, 9, 0, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def alliance(dms: int) -> str:
    lines = [
        "alliance: {name: Bench, default_timezone: UTC}",
        "organisations:",
        "  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}",
        "members:",
    ]
    lines += [
        f'  - {{id: m{n:05d}, name: M{n}, organisation: org, slack: "T0TEST:U0M{n:05d}"}}'
        for n in range(dms)
    ]
    lines += [
        "campaigns:",
        "  - {key: pulse, name: Pulse, prompts: [name-a-barrier], schedule: '0 9 * * *', "
        "timezone: UTC}",
    ]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def fake_server(cap: float = 0.0, channel: float = 0.0) -> AsyncIterator[str]:
    """Start bench/slack_fakeserver.py; yield its API URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "slack_fakeserver.py"),
        "--workspace-per-minute", str(cap), "--channel-per-second", str(channel),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        yield line.decode().strip()
    finally:
        process.terminate()
        await process.wait()


async def fake_stats(api_url: str) -> dict[str, Any]:
    url = api_url.removesuffix("/api/") + "/_fake/stats"

    def get() -> dict[str, Any]:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            result: dict[str, Any] = json.loads(response.read())
            return result

    return await asyncio.to_thread(get)


async def through_runtime(api_url: str, dms: int, pacing: Pacing) -> dict[str, float]:
    """The campaign fans out to ``dms`` members; the dispatcher drains the outbox (timed)."""
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        file = Path(tmp) / "alliance.yaml"
        await asyncio.to_thread(file.write_text, alliance(dms), encoding="utf-8")
        clock = ManualClock(START)
        port = SlackPort(TOKEN, clock, api_url=api_url, pacing=pacing)
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        runtime = Runtime(url, clock, {"slack": port}, alliance_file=file, real_time=False)
        await runtime.start()
        await pause_background_dispatcher(runtime)
        try:
            clock.set(FIRE)
            created = await runtime.planner.tick()
            t0 = time.perf_counter()
            await runtime.dispatcher.drain()
            seconds = time.perf_counter() - t0
            sent = runtime.dispatcher.sent_count
        finally:
            await runtime.stop()
            await port.close()
    return {"created": created, "sent": sent, "seconds": seconds,
            "port_429": port.stats.rate_limited}  # fmt: skip


async def through_port(api_url: str, dms: int, concurrency: int = 32) -> dict[str, float]:
    port = SlackPort(TOKEN, ManualClock(START), api_url=api_url, pacing=Pacing.unlimited())
    gate = asyncio.Semaphore(concurrency)
    message = Outgoing("How is it going?", title="Pulse", kind="prompt", delivery_id=1)

    async def one(n: int) -> None:
        async with gate:
            target = f"T0TEST:U0M{n:05d}"
            await port.send(Destination(DestinationKind.PERSON, target), message)

    await port.identify()
    t0 = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(dms)))
    seconds = time.perf_counter() - t0
    await port.close()
    return {"sent": dms, "seconds": seconds}


async def main(dms: int, cap: float, skip_capped: bool) -> None:
    real_per_s = REAL_CAP_PER_MINUTE / 60
    rows: list[tuple[str, str, str]] = []
    if not skip_capped:
        pacing = Pacing(channel_per_second=1, workspace_per_minute=cap, workspace_burst=5)
        print(f"Capped: {dms:,} DMs, workspace cap {cap:,.0f}/min (~{dms / cap:.1f} min)...")
        async with fake_server(cap, channel=1) as api:
            run = await through_runtime(api, dms, pacing)
            stats = await fake_stats(api)
        per_minute = (stats["posted"] - 1) / stats["span_s"] * 60 if stats["span_s"] else 0.0
        share = stats["rate_limited"] / max(stats["calls"], 1)
        rows += [
            ("[capped] DMs delivered", f"{stats['posted']:,}",
             f"of {run['created']:,.0f} deliveries; duplicates {stats['duplicates']}"),
            ("[capped] delivered / minute", f"{per_minute:,.0f}", f"cap {cap:,.0f}"),
            ("[capped] ratio to the cap", f"{per_minute / cap:.3f}",
             "target >= 0.95 " + ("(ok)" if per_minute / cap >= 0.95 else "(MISSED)")),
            ("[capped] drain wall time / minute", f"{run['sent'] / run['seconds'] * 60:,.0f}",
             f"{run['seconds']:.1f} s for {run['sent']:,.0f} sends"),
            ("[capped] calls answered 429", f"{stats['rate_limited']} / {stats['calls']:,}",
             f"{share:.3%}; target < 1% " + ("(ok)" if share < 0.01 else "(MISSED)")),
        ]  # fmt: skip
    print(f"Unlimited: {dms:,} DMs through the outbox, then through the port alone...")
    async with fake_server() as api:
        run = await through_runtime(api, dms, Pacing.unlimited())
    async with fake_server() as api:
        bare = await through_port(api, dms)
    for label, figures in (("outbox + port", run), ("port alone", bare)):
        per_s = figures["sent"] / figures["seconds"]
        rows += [
            (f"[unlimited, {label}] sends / s", f"{per_s:,.0f}",
             f"{figures['sent']:,.0f} in {figures['seconds']:.1f} s"),
            (f"[unlimited, {label}] headroom", f"{per_s / real_per_s:,.1f}x",
             f"of one workspace's {REAL_CAP_PER_MINUTE:.0f}/min; target >= 50x "
             + ("(ok)" if per_s / real_per_s >= 50 else "(MISSED)")),
        ]  # fmt: skip
    print()
    print(table(f"Slack delivery ({sys.version.split()[0]})", rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dms", type=int, default=10_000)
    parser.add_argument("--cap", type=float, default=6_000.0, help="workspace cap per minute")
    parser.add_argument("--skip-capped", action="store_true", help="only the unlimited runs")
    args = parser.parse_args()
    asyncio.run(main(args.dms, args.cap, args.skip_capped))
