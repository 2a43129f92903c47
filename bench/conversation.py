"""One question at a time, at scale: what the conversation costs the planner and each answer.

    .venv/bin/python bench/conversation.py [--members N] [--answers N]

10,000 members in 40 time zones (bench/common.py) get a campaign of three questions due in the
same minute. The same run measures it twice: ``ask: one by one`` (queued, each member's first
question made ready in the planner's transaction, the next one by each answer) against the
baseline ``ask: all at once`` (what the bot did before: every question pending at once). For
each: the planner's tick, the drain of what is due, and answers typed in the direct chat by
``--answers`` members (each answer in one-by-one mode also readies that member's next question,
which the drain after it sends). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import (
    FIRE,
    MEMBERS,
    PROMPT,
    START,
    InstantPort,
    alliance_yaml,
    check_zones,
    count,
)
from bot.clock import ManualClock
from bot.events import MessageReceived
from bot.runtime import Runtime
from bot.storage.records import CheckIn, Delivery

QUESTIONS = "[name-a-barrier, comms-two-people-should-meet, comms-wish-partners-knew]"


def alliance(members: int, ask: str) -> str:
    return alliance_yaml(members).replace(
        f"    prompts: [{PROMPT}]", f"    prompts: {QUESTIONS}\n    ask: {ask}"
    )


async def measure(ask: str, members: int, answers: int, tmp: Path) -> dict[str, float]:
    path = tmp / f"alliance-{ask.replace(' ', '-')}.yaml"
    path.write_text(alliance(members, ask), encoding="utf-8")
    clock = ManualClock(START)
    runtime = Runtime(
        f"sqlite+aiosqlite:///{tmp}/{ask.replace(' ', '-')}.db",
        clock,
        {"console": InstantPort("console")},
        alliance_file=path,
        real_time=False,
        background_dispatch=False,
    )
    await runtime.start()
    figures: dict[str, float] = {}
    try:
        clock.set(FIRE + timedelta(seconds=30))
        t0 = time.perf_counter()
        await runtime.planner.tick()
        figures["tick_s"] = time.perf_counter() - t0
        figures["rows"] = await count(runtime, Delivery.kind == "prompt")
        t0 = time.perf_counter()
        figures["sent_first"] = await runtime.dispatcher.drain()
        figures["drain_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for n in range(answers):
            event = MessageReceived(
                platform="console",
                event_id=f"bench-{ask}-{n}",
                sender=f"m{n:05d}",
                at=clock.now(),
                is_direct=True,
                text="Our calendars never match.",
            )
            await runtime.handle(event)
        figures["answers_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        figures["sent_after"] = await runtime.dispatcher.drain()
        figures["drain_after_s"] = time.perf_counter() - t0
        figures["checkins"] = await count(runtime, model=CheckIn)
        figures["still_due"] = await count(
            runtime, Delivery.status.in_(["pending", "sending"]), Delivery.kind == "prompt"
        )
    finally:
        await runtime.stop()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--answers", type=int, default=1000)
    args = parser.parse_args()
    check_zones()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        base = await measure("all at once", args.members, args.answers, tmp)
        conv = await measure("one by one", args.members, args.answers, tmp)
    print(f"{args.members} members, 3 questions due in the same minute, SQLite")
    for key in ("tick_s", "drain_s", "answers_s", "drain_after_s"):
        ratio = conv[key] / base[key] if base[key] else float("nan")
        print(
            f"  {key:14} one by one {conv[key]:8.3f}  all at once {base[key]:8.3f}"
            f"  ratio {ratio:.2f}"
        )
    for key in ("rows", "sent_first", "sent_after", "checkins", "still_due"):
        print(f"  {key:14} one by one {int(conv[key]):8d}  all at once {int(base[key]):8d}")
    per = conv["answers_s"] / args.answers * 1000, base["answers_s"] / args.answers * 1000
    print(f"  per answer     one by one {per[0]:.2f} ms  all at once {per[1]:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
