"""The fake Slack Web API in its own process, so a benchmark's figures do not include its CPU.

    .venv/bin/python bench/slack_fakeserver.py [--workspace-per-minute N] [--channel-per-second N]

Prints its API URL on the first line of stdout, serves until SIGTERM or SIGINT, and reports its
totals at GET /_fake/stats. Binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from tests.fakeslack import FakeSlack
from tests.fakeslack_parts import Limits


async def serve(limits: Limits) -> None:
    fake = await FakeSlack(limits=limits, max_calls=1_000_000).start()
    print(fake.api_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace-per-minute", type=float, default=0.0, help="0: no cap")
    parser.add_argument("--workspace-burst", type=int, default=10)
    parser.add_argument("--channel-per-second", type=float, default=0.0, help="0: no limit")
    args = parser.parse_args()
    asyncio.run(
        serve(
            Limits(
                channel_per_second=args.channel_per_second,
                workspace_per_minute=args.workspace_per_minute,
                workspace_burst=args.workspace_burst,
            )
        )
    )
