"""Three ``alliance-bot run`` workers on one PostgreSQL share a 2,000-member campaign.

The campaign's due deliveries are prepared in the database; three real bot processes send them
through three fake Slack workspaces (the app installed in each, tokens sealed in the database),
each with a cap of its own that the workers share (each send books its slot in the database
under its workspace's key). Midway the leader (the worker running the scheduler) is SIGKILLed:
another takes the lead within 30 s. Later a worker holding claims is SIGKILLed: the survivor
takes its rows back and sends them, once. What Slack sees: every prompt exactly once, each with
its workspace's token, and never a request over a workspace's cap.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.storage.database import Database
from bot.storage.records import Delivery
from tests.botprocess import BotProcess
from tests.fakeslack import FakeSlack
from tests.fakeslack_parts import Limits
from tests.harnesses.slack import outbox_kind
from tests.pgserver import PostgresServer
from tests.workspaces import TEAMS, alliance, installed, prepare, three_workspaces, worker_env

MEMBERS = 2000
CAP = 3000.0
"""Messages a minute for each workspace, at the fake (50 a second); the bots pace just below."""
LEADS = "this worker leads"


def prompts(fake: FakeSlack) -> Counter[str]:
    """Prompts Slack holds, by DM channel."""
    return Counter(
        m.channel for ch in fake.messages.values() for m in ch if outbox_kind(m) == "prompt"
    )


async def claim_holders(url: str) -> Counter[int]:
    """Rows being sent, by the pid of the worker that claimed them."""
    db = Database(url)
    try:
        async with db.session() as s:
            rows = (
                await s.execute(
                    select(Delivery.claimed_by, func.count())
                    .where(Delivery.status == "sending")
                    .group_by(Delivery.claimed_by)
                )
            ).all()
    finally:
        await db.dispose()
    return Counter({int(str(name).split(":")[1]): int(n) for name, n in rows if name})


async def statuses(url: str) -> Counter[str]:
    db = Database(url)
    try:
        async with db.session() as s:
            rows = (
                await s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
            ).all()
    finally:
        await db.dispose()
    return Counter({str(status): int(n) for status, n in rows})


async def test_three_workers_share_a_campaign_through_two_kills(
    postgres: PostgresServer | None, tmp_path: Path
) -> None:
    assert postgres is not None
    url = await asyncio.to_thread(postgres.create_database, f"workers_{os.getpid()}")
    # Slack allows short bursts; a loaded test machine delays some requests and bunches others,
    # so the fake, like Slack, gives 0.6 s of slack. The bots pace just below.
    fake = three_workspaces(MEMBERS, Limits(workspace_per_minute=CAP, workspace_burst=30))
    await fake.start()
    fire = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    file = tmp_path / "alliance.yaml"
    file.write_text(alliance(fire, MEMBERS), encoding="utf-8")
    assert await prepare(url, file, fire) == MEMBERS
    await installed(url, fake)
    workers = [
        BotProcess(
            worker_env(url, tmp_path / f"data{i}", fake, CAP * 0.95), tmp_path / f"worker{i}.log"
        )  # fmt: skip
        for i in range(3)
    ]
    leads = re.compile(LEADS)

    def leader() -> BotProcess | None:
        found = [w for w in workers if w.running and len(leads.findall(w.tail(10**6))) > 0]
        return found[-1] if found else None

    try:
        for worker in workers:
            await worker.start()
        first = workers[0]
        await first.until(lambda: leader() is not None, "a leader", within=60)
        old = leader()
        assert old is not None
        await first.until(lambda: sum(prompts(fake).values()) >= MEMBERS // 3, "a third sent")
        await old.kill()
        killed_at = time.monotonic()
        survivors = [w for w in workers if w is not old]
        await survivors[0].until(
            lambda: any(LEADS in w.tail(10**6) for w in survivors), "a new leader", within=40
        )
        takeover = time.monotonic() - killed_at
        assert takeover <= 30, takeover

        await survivors[0].until(lambda: sum(prompts(fake).values()) >= 2 * MEMBERS // 3, "2/3")
        holders = await claim_holders(url)
        pids = {w.process.pid: w for w in survivors if w.process is not None}
        holding = [pids[pid] for pid in holders if pid in pids]
        victim = holding[0] if holding else survivors[0]
        taken = holders.get(victim.process.pid if victim.process else 0, 0)
        await victim.kill()
        last = next(w for w in survivors if w is not victim)

        async def all_sent() -> bool:
            return (await statuses(url)).get("sent", 0) == MEMBERS

        await last.until(all_sent, "every prompt recorded sent", within=120, every=0.5)
        seen = prompts(fake)
        posts = Counter(team for method, team, _ in fake.used if method == "chat.postMessage")
        print(
            f"takeover {takeover:.1f} s; claims held by the killed worker {taken}; "
            f"prompts at Slack {sum(seen.values())} for {len(seen)} members; "
            f"429s {fake.rate_limited}; posts by workspace {dict(posts)}"
        )
        assert len(seen) == MEMBERS and set(seen.values()) == {1}  # each once
        assert fake.stats()["duplicates"] == 0
        assert fake.rate_limited == 0  # three workers together kept each workspace's cap
        assert posts == Counter({team: MEMBERS // 3 + (t < MEMBERS % 3) for t, team in
                                 enumerate(TEAMS)})  # fmt: skip
        assert fake.wrong_team == []  # each call with the token of the workspace it addressed
        assert await statuses(url) == Counter({"sent": MEMBERS})
        for worker in workers:
            assert "Traceback" not in worker.tail(10**6), worker.tail()
    finally:
        for worker in workers:
            await worker.close()
        await fake.stop()
