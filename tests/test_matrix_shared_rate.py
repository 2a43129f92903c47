"""Several workers on one Matrix account keep the homeserver's message rate together (issue
13: pacing holds across processes).

Synapse limits the bot's account to 2 messages a second after a burst of 4, whichever device
sends. Two workers are two devices of the account, each with its own nio client and port; they
send 16 messages at once. Booked in PostgreSQL under one key at 1.6 a second, they are never
told to slow down. Each pacing only itself at the same rate, together they go at twice it, and
the homeserver refuses some (the baseline, in the same run).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from nio import RoomCreateResponse

from adapters.matrix.client import BotClient, client_config
from adapters.matrix.pacing import MemoryPace
from adapters.matrix.port import MatrixPort
from bot.clock import SystemClock
from bot.ports import RateLimited
from bot.storage.database import Database
from bot.storage.pace import StorePace
from tests.matrixmember import PICKLE, shared_session
from tests.pgserver import PostgresServer
from tests.synapse import available

pytestmark = pytest.mark.skipif(not available(), reason="Synapse is not installed")
MESSAGES = 16
RATE = 1.6


async def worker(session_url: str, user: str, password: str, store: Path) -> MatrixPort:
    """One worker's device of the bot account, logged in with the password."""
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    client = BotClient(
        session_url, user, device_id=None, store_path=store, config=client_config(PICKLE)
    )
    await client.login(password, device_name="alliance-bot")
    port = MatrixPort(client, SystemClock(), per_second=RATE, burst=3)
    port.open = True
    return port


async def send_all(ports: list[MatrixPort], room: str, tag: str) -> tuple[int, float]:
    """Every port sends its share at once, each message tried again after a 429 as the
    outbox would; the 429s the homeserver answered, and how long it all took."""

    async def one(port: MatrixPort, n: int) -> None:
        content = {"msgtype": "m.notice", "body": f"{tag} {n}"}
        while True:
            try:
                await port.post(room, "m.room.message", content, f"{tag}-{n}")
                return
            except RateLimited as exc:
                await asyncio.sleep(exc.retry_after)

    started = time.monotonic()
    await asyncio.gather(*(one(ports[n % len(ports)], n) for n in range(MESSAGES)))
    return sum(p.pacer.holds for p in ports), time.monotonic() - started


async def test_two_workers_keep_the_account_rate_together(
    request: pytest.FixtureRequest, postgres: PostgresServer | None, tmp_path: Path
) -> None:
    assert postgres is not None
    session = await asyncio.to_thread(shared_session, request, "rated")
    bot = await asyncio.to_thread(session.account, "ratedbot")  # not an admin: limits apply
    url = await asyncio.to_thread(postgres.create_database, f"mrate_{os.getpid()}")
    db = Database(url)
    await db.upgrade()
    ports = [
        await worker(session.server.url, bot.user_id, bot.password, tmp_path / f"w{i}")
        for i in range(4)
    ]
    try:
        created = await ports[0].client.room_create(name="rate")
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        for port in ports:  # each device learns of the room, as a worker's sync does
            await port.client.sync(timeout=0, full_state=True)
        await asyncio.sleep(2.5)  # the homeserver's burst fills up again

        alone, alone_s = await send_all(ports[:2], room, "alone")
        await asyncio.sleep(2.5)
        for port in ports[2:]:
            port.share(StorePace(db))
        shared, shared_s = await send_all(ports[2:], room, "shared")
        print(
            f"\n{MESSAGES} messages from two workers at {RATE}/s each: pacing alone "
            f"{alone} x 429 in {alone_s:.1f} s; booked together {shared} x 429 in {shared_s:.1f} s"
        )
        assert alone > 0, "the baseline should meet the homeserver's limit"
        assert shared == 0
        assert shared_s >= (MESSAGES - 3) / RATE - 1  # kept to the shared rate, not twice it
    finally:
        for port in ports:
            await port.client.close()
        await db.dispose()


@pytest.mark.parametrize("where", ["postgresql", "memory"])
async def test_a_slow_down_one_worker_met_holds_the_others(
    where: str, postgres: PostgresServer | None
) -> None:
    """A 429's Retry-After, held under the account's key by one worker, is waited out by
    another's next booking, with a rate of its own or without one."""
    dbs: list[Database] = []
    if where == "postgresql":
        assert postgres is not None
        url = await asyncio.to_thread(postgres.create_database, f"mhold_{os.getpid()}")
        dbs = [Database(url), Database(url)]
        await dbs[0].upgrade()
        one, other = StorePace(dbs[0]), StorePace(dbs[1])
    else:
        one = other = MemoryPace()
    try:
        key = "matrix:@bot:example.org"
        assert await other.book(key, 0, 1) == 0.0
        await one.hold(key, 2.0)
        assert 1.5 < await other.book(key, 0, 1) <= 2.0
        assert 1.5 < await other.book(key, 10, 1) <= 2.0  # a rate's schedule starts after it
        assert await other.book("matrix:@other:example.org", 0, 1) == 0.0
    finally:
        for db in dbs:
            await db.dispose()
