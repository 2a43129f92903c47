"""Matrix send benchmark: prompts delivered per second to N members through a local Synapse.

    .venv/bin/python bench/matrix_send.py [--members 500] [--rate 10] [--burst 20]

The bot (adapter, port and the real outbox dispatcher) sends one prompt to each member, in an
encrypted direct chat it opened beforehand (not timed). Two figures, printed, never asserted:

(a) under a message rate limit (Synapse ``rc_message`` of ``rate``/s with a burst of ``burst``;
    Synapse's default of 0.2/s would take 40 minutes): delivered per second, as a ratio of the
    limit's theoretical rate (the burst at once, then ``rate`` a second): target >= 0.98;
(b) with the bot exempted (Synapse's ``override_ratelimit`` admin API, as a deployment does):
    delivered per second, as a ratio of a bare matrix-nio client sending the same messages to
    the same rooms with the same concurrency (32): target >= 0.8.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import nio
from sqlalchemy import func, select

from adapters.matrix import translate
from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.client import BotClient, client_config
from adapters.matrix.port import MatrixPort
from bench.common import profiled, table
from bot.clock import ManualClock
from bot.ports import Outgoing
from bot.runtime import Runtime
from bot.storage.records import Delivery
from tests.synapse import Account, SynapseServer

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CONCURRENCY = 32
PICKLE = "bench-pickle-key"
PROFILE = False
ROUNDS = 3


def alliance_yaml(members: list[Account]) -> str:
    lines = [
        "alliance: {name: Bench Alliance, default_timezone: UTC}",
        "organisations:",
        "  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}",
        "members:",
    ]
    for account in members:
        name = account.localpart
        lines.append(
            f'  - {{id: {name}, name: {name}, organisation: org, matrix: "{account.user_id}"}}'
        )
    lines += [
        "campaigns:",
        "  - {key: pulse, name: Pulse, prompts: [name-a-barrier], schedule: '0 9 * * *',",
        "     timezone: UTC, catch_up: 3h}",
        "",
    ]
    return "\n".join(lines)


async def join_all(server: SynapseServer, port: MatrixPort, members: list[Account]) -> None:
    """The bot opens an encrypted DM with each member; each member joins (via the API)."""
    semaphore = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as http:

        async def one(account: Account) -> None:
            async with semaphore:
                opening = asyncio.create_task(port.dm_room(account.user_id))
                while not port.direct.get(account.user_id) and not opening.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                if opening.done():
                    await opening  # raises if the bot could not open the chat
                room_id = port.direct[account.user_id][-1]
                url = f"{server.url}/_matrix/client/v3/join/{room_id}"
                headers = {"Authorization": f"Bearer {account.access_token}"}
                async with http.post(url, json={}, headers=headers) as response:
                    response.raise_for_status()
                await opening

        await asyncio.gather(*(one(account) for account in members))


async def sent_count(runtime: Runtime) -> int:
    async with runtime.db.session() as s:
        found = await s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        )
    return int(found or 0)


async def waiting_count(runtime: Runtime) -> int:
    async with runtime.db.session() as s:
        found = await s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        )
    return int(found or 0)


async def deliver(runtime: Runtime, clock: ManualClock, day: int) -> tuple[int, float]:
    """Fire the campaign on ``day`` and send every prompt; (sent, seconds)."""
    before = await sent_count(runtime)
    clock.set(START + timedelta(days=day, hours=1, minutes=1))
    await runtime.planner.tick()
    fired = clock.now()
    t0 = time.perf_counter()

    async def follow() -> None:  # the bot's clock runs with the real one, as in production,
        while True:  # so sends Synapse refused fall due again when it said
            await asyncio.sleep(0.02)
            clock.set(fired + timedelta(seconds=time.perf_counter() - t0))

    follower = asyncio.create_task(follow())
    try:
        while True:
            await runtime.dispatcher.drain()
            if not await waiting_count(runtime) or time.perf_counter() - t0 > 3600:
                break
            await asyncio.sleep(0.02)
    finally:
        follower.cancel()
    elapsed = time.perf_counter() - t0
    return await sent_count(runtime) - before, elapsed


class BareClient:
    """A plain nio client (a second device of the bot's account, exempted too) that sends the
    same message to every room with the dispatcher's concurrency: the baseline for (b)."""

    def __init__(self, server: SynapseServer, bot: Account, store: Path) -> None:
        self.bot = bot
        self.client = nio.AsyncClient(
            server.url,
            bot.user_id,
            store_path=str(store),
            config=nio.AsyncClientConfig(encryption_enabled=True, pickle_key=PICKLE),
        )

    async def start(self) -> None:
        await self.client.login(self.bot.password, device_name="bare")
        await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)

    async def send_all(self, rooms: list[str], content: dict[str, Any]) -> float:
        """Messages per second."""
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def send(room_id: str) -> None:
            async with semaphore:
                response = await self.client.room_send(
                    room_id, "m.room.message", content, ignore_unverified_devices=True
                )
                assert isinstance(response, nio.RoomSendResponse), response

        t0 = time.perf_counter()
        await asyncio.gather(*(send(room) for room in rooms))
        return len(rooms) / (time.perf_counter() - t0)

    async def close(self) -> None:
        await self.client.close()


def synapse_version() -> str:
    from importlib.metadata import version

    return version("matrix-synapse")


async def main(members_n: int, rate: float, burst: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nio").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-matrix-") as tmp_name:
        tmp = Path(tmp_name)
        server = SynapseServer(tmp / "synapse", rc_message=(rate, burst))
        await asyncio.to_thread(server.start)
        try:
            t0 = time.perf_counter()
            bot = await asyncio.to_thread(server.register, "alliancebot", admin=True)
            members = []
            for n in range(members_n):
                members.append(await asyncio.to_thread(server.register, f"m{n:04d}"))
            registered = time.perf_counter() - t0
            (tmp / "alliance.yaml").write_text(alliance_yaml(members), encoding="utf-8")
            clock = ManualClock(START)
            client = BotClient(
                server.url,
                bot.user_id,
                device_id=bot.device_id,
                store_path=tmp / "bot-store",
                config=client_config(PICKLE),
            )
            port = MatrixPort(client, clock, join_timeout=120)
            adapter = MatrixAdapter(
                client,
                port,
                access_token=bot.access_token,
                device_id=bot.device_id,
                sync_timeout_ms=5000,
            )
            runtime = Runtime(
                f"sqlite+aiosqlite:///{tmp / 'bot.db'}",
                clock,
                {"matrix": port},
                alliance_file=tmp / "alliance.yaml",
                real_time=False,
                send_concurrency=CONCURRENCY,
            )
            await runtime.start()
            runtime._stop.set()  # noqa: SLF001 - drains are timed alone (see bench/common.py)
            runtime.dispatcher.wake()
            await runtime.tasks.wait()
            await adapter.start(runtime)
            await asyncio.wait_for(adapter.ready.wait(), 60)
            t0 = time.perf_counter()
            print(f"registered {members_n} members in {registered:.1f} s", flush=True)
            await asyncio.to_thread(server.exempt, bot.user_id, bot)  # setup is not measured
            await join_all(server, port, members)
            await asyncio.to_thread(server.exempt, bot.user_id, bot, False)
            print(f"opened {members_n} DMs in {time.perf_counter() - t0:.1f} s", flush=True)
            opened = time.perf_counter() - t0
            await asyncio.sleep(burst / rate + 1)  # let the limiter's bucket empty

            stamps: list[float] = []
            port.observers.append(lambda *_: stamps.append(time.perf_counter()))
            sent_a, seconds_a = await deliver(runtime, clock, 0)
            port.observers.clear()
            gaps = [b - a for a, b in zip(stamps[burst:], stamps[burst + 1 :], strict=False)]
            theoretical = max(sent_a - burst, 0) / rate
            print(
                f"(a) {sent_a} in {seconds_a:.1f} s; once limited, one send every "
                f"{statistics.mean(gaps):.4f} s on average",
                flush=True,
            )

            await asyncio.to_thread(server.exempt, bot.user_id, bot)
            rooms = [port.direct[m.user_id][-1] for m in members]
            content = translate.outgoing_content(
                Outgoing(
                    text="Name one barrier to collaboration you met this month.",
                    title="Check-in: Pulse",
                    kind="prompt",
                )
            )
            bare = BareClient(server, bot, tmp / "bare-store")
            (tmp / "bare-store").mkdir()
            await bare.start()
            await bare.send_all(rooms, content)  # warm-up: its encryption sessions
            bot_rates, bare_rates = [], []
            for day in range(1, ROUNDS + 1):  # alternate, so both see the same machine load
                with profiled(f"(b) drain, day {day}", PROFILE and day == 1):
                    sent_b, seconds_b = await deliver(runtime, clock, day)
                bot_rates.append(sent_b / seconds_b)
                bare_rates.append(await bare.send_all(rooms, content))
                print(
                    f"(b) round {day}: bot {bot_rates[-1]:.1f}/s ({sent_b} sent), "
                    f"bare {bare_rates[-1]:.1f}/s",
                    flush=True,
                )
            await bare.close()
            await adapter.stop()
            await runtime.stop()
        finally:
            await asyncio.to_thread(server.stop)

    rate_a = sent_a / seconds_a
    rate_b, rate_bare = statistics.median(bot_rates), statistics.median(bare_rates)
    print(
        f"setup: {members_n} members registered in {registered:.1f} s, "
        f"{members_n} encrypted DMs opened and joined in {opened:.1f} s; "
        f"429s met: {port.pacer.holds}"
    )
    print(
        table(
            f"Matrix sends to {members_n} members (a local Synapse {synapse_version()})",
            [
                ("(a) rc_message", f"{rate:g}/s burst {burst}", ""),
                ("(a) delivered", f"{sent_a} in {seconds_a:.1f} s", f"{rate_a:.2f}/s"),
                (
                    "(a) theoretical",
                    f"{theoretical:.1f} s",
                    f"{sent_a / theoretical:.2f}/s" if theoretical else "",
                ),
                ("(a) ratio", f"{theoretical / seconds_a:.3f}", "target >= 0.98"),
                ("(b) bot exempted", f"median of {ROUNDS}", f"{rate_b:.1f}/s"),
                ("(b) bare nio client", f"median of {ROUNDS}", f"{rate_bare:.1f}/s"),
                ("(b) ratio", f"{rate_b / rate_bare:.3f}", "target >= 0.8"),
            ],
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile the (b) sends")
    args = parser.parse_args()
    PROFILE = args.profile
    asyncio.run(main(args.members, args.rate, args.burst))
