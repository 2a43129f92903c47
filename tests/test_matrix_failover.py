"""Matrix failover (issue #13): the sync lease moves to another worker when the holder dies,
and no event is handled twice.

Two real ``alliance-bot run`` workers share one PostgreSQL and the bot's Matrix account on the
session's Synapse, each logged in with its password and a device (and crypto store) of its own.
Both send what the outbox gives them; only the holder of the sync lease hands events to the
core. Members on real nio clients answer prompts and send commands: before the holder is
SIGKILLed, while nobody holds the lease, and after the other worker took it over.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.matrix import translate
from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.clock import ManualClock
from bot.replies import reply_prefix
from bot.scheduling.planner import Planner
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery, ProcessedEvent
from tests.botprocess import BotProcess, bot_env, free_port
from tests.matrixcampaign import (
    THANKS,
    WAIT,
    acks_of,
    alliance_text,
    answer,
    first_prompt,
    fresh_names,
)
from tests.matrixmember import PICKLE, MemberClient, shared_session
from tests.pgserver import PostgresServer
from tests.synapse import Account

TAKES = "takes over the sync of"
DEVICE = re.compile(r"logged in as device (\S+)")
TAKEOVER_LIMIT = 30.0


@dataclass
class Worker:
    process: BotProcess
    metrics_port: int

    def log(self) -> str:
        return self.process.tail(10**6)

    def metric(self, name: str, label: str, value: str) -> float | None:
        """One sample of the worker's /metrics."""
        address = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(address, timeout=5) as response:
            body = response.read().decode()
        found = re.search(rf'{name}\{{{label}="{re.escape(value)}"\}} (\S+)', body)
        return float(found.group(1)) if found else None

    def lease_held(self, lease: str) -> float | None:
        return self.metric("alliance_bot_lease_held", "lease", lease)

    def sends(self) -> int:
        return int(self.metric("alliance_bot_send_seconds_count", "platform", "matrix") or 0)


def worker(url: str, root: Path, n: int, homeserver: str, bot: Account) -> Worker:
    """A worker as an operator would run it: its own data directory (so its own device and
    crypto store), the shared database, a password login, metrics on a port of its own."""
    port = free_port()
    env = bot_env(
        url,
        root / f"data{n}",
        CONSOLE__ENABLED="false",
        HTTP__PORT=str(port),
        MATRIX__HOMESERVER=homeserver,
        MATRIX__USER_ID=bot.user_id,
        MATRIX__PASSWORD=bot.password,
        MATRIX__PICKLE_KEY=PICKLE,
    )
    return Worker(BotProcess(env, root / f"worker{n}.log"), port)


async def plan_prompts(url: str, file: Path, fire: datetime, count: int) -> None:
    """Load the alliance and plan its campaign's prompts, due now, as the workers run."""
    db = Database(url)
    try:
        alliance, problems = await asyncio.to_thread(validate_file, file)
        assert alliance is not None, problems
        source = await asyncio.to_thread(file.read_text, encoding="utf-8")
        await load_alliance(db, alliance, source)
        planner = Planner(db, ManualClock(fire - timedelta(minutes=1)), ["matrix"])
        await planner.tick()
        assert await planner.tick(fire) == count
    finally:
        await db.dispose()


async def handled(url: str, event_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Per event: rows in processed_events, reply deliveries, and those sent."""
    db = Database(url)
    found: dict[str, tuple[int, int, int]] = {}
    try:
        async with db.session() as s:
            for event_id in event_ids:
                processed = await s.scalar(
                    select(func.count())
                    .select_from(ProcessedEvent)
                    .where(ProcessedEvent.event_id == event_id)
                )
                prefix = reply_prefix(translate.PLATFORM, event_id)
                replies = (
                    await s.scalars(
                        select(Delivery.status).where(
                            Delivery.kind == "reply",
                            Delivery.dedupe_key >= prefix,
                            Delivery.dedupe_key < prefix[:-1] + ";",
                        )
                    )
                ).all()
                sent = sum(status == "sent" for status in replies)
                found[event_id] = (int(processed or 0), len(replies), sent)
    finally:
        await db.dispose()
    return found


def seen_reply(member: MemberClient, event_id: str) -> Callable[[], bool]:
    return lambda: bool(acks_of(member, event_id))


async def checkins(url: str) -> list[CheckIn]:
    db = Database(url)
    try:
        async with db.session() as s:
            return list((await s.scalars(select(CheckIn))).all())
    finally:
        await db.dispose()


async def test_the_sync_lease_moves_when_its_holder_dies_and_nothing_is_handled_twice(
    request: pytest.FixtureRequest, postgres: PostgresServer | None, tmp_path: Path
) -> None:
    if postgres is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    began = time.monotonic()
    url = await asyncio.to_thread(postgres.create_database, f"failover_{os.getpid()}")
    session = await asyncio.to_thread(shared_session, request)
    server = session.server
    names = fresh_names("fo", 3)

    def register() -> Account:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(session.account, names))
        return server.register(f"bot{secrets.token_hex(4)}")

    bot = await asyncio.to_thread(register)
    lease = f"matrix-sync:{bot.user_id}"
    fire = datetime.now(UTC).replace(second=0, microsecond=0)
    file = tmp_path / "alliance.yaml"
    file.write_text(alliance_text(names, fire), encoding="utf-8")
    db = Database(url)
    await db.upgrade()  # once, before two workers start on it
    await db.dispose()
    workers = [worker(url, tmp_path, n, server.url, bot) for n in range(2)]
    members = {n: MemberClient(session, n, bot.user_id) for n in names}
    first = workers[0].process

    def holders() -> list[Worker]:
        return [w for w in workers if w.process.running and TAKES in w.log()]

    try:
        await asyncio.gather(*(w.process.start() for w in workers))
        await asyncio.gather(*(member.start() for member in members.values()))
        for w in workers:
            await w.process.until(lambda w=w: DEVICE.search(w.log()) is not None, "a login")
        await first.until(lambda: bool(holders()), "a holder of the sync lease")
        devices = {DEVICE.findall(w.log())[-1] for w in workers}
        assert len(devices) == 2, devices  # a device (and crypto store) each
        [holder] = holders()
        survivor = next(w for w in workers if w is not holder)
        assert await asyncio.to_thread(holder.lease_held, lease) == 1.0
        assert await asyncio.to_thread(survivor.lease_held, lease) in (None, 0.0)

        # The holder is paused while the prompts fall due, so the other worker sends them: a
        # worker that hands no events over still opens encrypted direct chats and posts in them.
        assert holder.process.process is not None
        os.kill(holder.process.process.pid, signal.SIGSTOP)
        try:
            await plan_prompts(url, file, fire, len(names))
            prompts = {n: await first_prompt(members[n]) for n in names}
        finally:
            os.kill(holder.process.process.pid, signal.SIGCONT)
        sent: dict[str, str] = {}  # event id -> who sent it
        sent[await answer(members[names[0]], prompts[names[0]], "Before the kill")] = names[0]

        async def replied(event_id: str) -> bool:
            return (await handled(url, [event_id]))[event_id][2] == 1

        before = next(iter(sent))
        await first.until(lambda: replied(before), "the reply before the kill", WAIT, 0.1)

        sends = {
            "holder": await asyncio.to_thread(holder.sends),
            "follower": await asyncio.to_thread(survivor.sends),
        }
        await holder.process.kill()
        killed_at = time.monotonic()
        gap = await answer(members[names[1]], prompts[names[1]], "While nobody syncs")
        sent[gap] = names[1]
        in_gap = TAKES not in survivor.log()
        await survivor.process.until(lambda: TAKES in survivor.log(), "a takeover", 40, 0.05)
        takeover = time.monotonic() - killed_at
        assert await asyncio.to_thread(survivor.lease_held, lease) == 1.0

        after = [
            await answer(members[names[2]], prompts[names[2]], "After the takeover"),
            await answer(members[names[1]], prompts[names[1]], "A correction"),
            await members[names[0]].send(
                members[names[0]].seen[prompts[names[0]]][0], {"msgtype": "m.text", "body": "!help"}
            ),
        ]
        sent.update({event_id: names[i] for i, event_id in zip((2, 1, 0), after, strict=True)})

        async def all_replied() -> bool:
            counts = await handled(url, list(sent))
            return all(posted == 1 for _p, _r, posted in counts.values())

        await survivor.process.until(all_replied, "a reply to every message", WAIT, 0.2)
        for event_id, name in sent.items():
            member = members[name]
            await member.wait(seen_reply(member, event_id), "see the reply")
        await asyncio.sleep(1.0)  # a second reply to anything would be in by now
        counts = await handled(url, list(sent))
        acks = {event_id: acks_of(members[name], event_id) for event_id, name in sent.items()}
        stored = await checkins(url)
        read_back = re.findall(r"read (\d+) events back", survivor.log())
        print(
            f"\ntakeover {takeover:.1f} s after the SIGKILL (limit {TAKEOVER_LIMIT:.0f} s); "
            f"the gap message was sent {'before' if in_gap else 'after'} it; "
            f"events read back at takeovers {read_back}; sends before the kill {sends}; "
            f"{len(sent)} messages, replies seen {[len(a) for a in acks.values()]}; "
            f"check-ins {len(stored)}; whole test {time.monotonic() - began:.0f} s"
        )
        assert takeover <= TAKEOVER_LIMIT
        assert sends["follower"] >= len(names)  # the prompts, from the worker not syncing
        assert in_gap  # sent while no worker held the lease
        assert counts == dict.fromkeys(sent, (1, 1, 1)), counts  # handled once, replied once
        assert {event_id: len(a) for event_id, a in acks.items()} == dict.fromkeys(sent, 1)
        thanked = [event_id for event_id in sent if event_id != after[-1]]  # not the !help
        assert all(acks[e][0].startswith((THANKS, "Updated your answer")) for e in thanked), acks
        texts = sorted(c.answer_text for c in stored)
        assert texts == sorted(["Before the kill", "A correction", "After the takeover"]), texts
        for w in workers:
            assert "Traceback" not in w.log(), w.process.tail()
    finally:
        for w in workers:
            await w.process.close()
        await asyncio.gather(*(member.stop() for member in members.values()))


async def test_two_workers_given_one_access_token_do_not_share_its_device(
    request: pytest.FixtureRequest, postgres: PostgresServer | None, tmp_path: Path
) -> None:
    """An operator gives both workers the same access token (one device): the second says
    why it waits instead of syncing as that device too, and takes it when the first dies."""
    if postgres is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    url = await asyncio.to_thread(postgres.create_database, f"onedevice_{os.getpid()}")
    session = await asyncio.to_thread(shared_session, request)
    bot = await asyncio.to_thread(session.server.register, f"bot{secrets.token_hex(4)}")
    db = Database(url)
    await db.upgrade()
    await db.dispose()
    workers = [worker(url, tmp_path, n, session.server.url, bot) for n in range(2)]
    for w in workers:
        w.process.env.pop("ALLIANCE_BOT_MATRIX__PASSWORD")
        w.process.env["ALLIANCE_BOT_MATRIX__ACCESS_TOKEN"] = bot.access_token
    first, second = (w.process for w in workers)
    try:
        await first.start()
        await first.until(lambda: DEVICE.search(first.tail(10**6)) is not None, "a login")
        await second.start()
        await second.until(lambda: "already uses Matrix device" in second.tail(), "why it waits")
        assert DEVICE.search(second.tail(10**6)) is None  # it never synced as the device
        assert "ALLIANCE_BOT_MATRIX__PASSWORD" in second.tail()
        await first.kill()
        await second.until(lambda: DEVICE.search(second.tail(10**6)) is not None, "takes it", 60)
        assert DEVICE.findall(second.tail(10**6)) == [bot.device_id]
        assert "Traceback" not in second.tail(10**6)
    finally:
        for w in workers:
            await w.process.close()
