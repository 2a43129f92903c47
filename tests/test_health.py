"""/healthz, /readyz and /metrics as an operator's probes and Prometheus see them.

The real bot (``alliance-bot run`` as a subprocess) on a PostgreSQL server of this test's own,
which it stops and starts again: /readyz turns 503 naming the database while PostgreSQL is
down and 200 when it is back, while /healthz (liveness) stays 200 throughout. Its log is JSON
lines with the database password nowhere in them. Then Slack over HTTP: the endpoints ride on
Slack's own server, next to its events URL.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.health import serve_http
from adapters.slack.adapter import SlackAdapter
from adapters.slack.pacing import Pacing
from adapters.slack.port import SlackPort
from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.settings import HttpSettings
from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack import TOKEN, FakeSlack
from tests.harnesses.slack import SECRET, message_event, signed, user_of
from tests.pgserver import PostgresServer, PostgresUnavailable
from tests.test_slack_adapter import ALLIANCE as SLACK_ALLIANCE

PASSWORD = "pw-SENTINEL-9b1e"
FAMILIES = {
    "alliance_bot_deliveries": "gauge",
    "alliance_bot_oldest_due_delivery_age_seconds": "gauge",
    "alliance_bot_send_seconds": "histogram",
    "alliance_bot_rate_limited": "counter",
    "alliance_bot_rate_limit_wait_seconds": "counter",
    "alliance_bot_checkins": "gauge",
    "alliance_bot_leader": "gauge",
    "alliance_bot_lease_held": "gauge",
    "alliance_bot_database_up": "gauge",
}


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: it is stopped and started again under the bot."""
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        if os.environ.get("ALLIANCE_BOT_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    try:
        async with session.get(url) as response:
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return 0, ""


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def test_readiness_follows_the_database_and_metrics_parse(
    tmp_path: Path, own_postgres: PostgresServer, http: aiohttp.ClientSession
) -> None:
    url = own_postgres.create_database("health").replace("postgres@", f"postgres:{PASSWORD}@")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = bot_env(
        url,
        tmp_path / "data",
        LOG_FORMAT="json",
        CONSOLE__ENABLED="false",
        HTTP__HOST="127.0.0.1",
        HTTP__PORT=str(port),
    )
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    state: dict[str, Any] = {}

    async def answers(path: str, status: int, *, naming: str | None = None) -> bool:
        state["status"], state["body"] = await get(http, base + path)
        if state["status"] != status:
            return False
        return naming is None or naming in json.loads(state["body"])["not_ready"]

    try:
        await bot.until(lambda: answers("/healthz", 200), "/healthz 200", within=30)
        await bot.until(lambda: answers("/readyz", 200), "/readyz 200", within=30)
        assert json.loads(state["body"]) == {
            "ready": True,
            "not_ready": {},
            "checks": {"runtime": "ok", "database": "ok"},
        }
        status, text = await get(http, base + "/metrics")
        assert status == 200
        found = families(text)
        assert {name: found[name].type for name in FAMILIES if name in found} == FAMILIES
        assert sample(text, "alliance_bot_database_up") == 1.0
        assert sample(text, "alliance_bot_deliveries", state="pending") == 0.0

        await asyncio.to_thread(own_postgres.pause)
        await bot.until(
            lambda: answers("/readyz", 503, naming="database"), "/readyz 503", within=15
        )
        body = json.loads(state["body"])
        assert body["ready"] is False and body["checks"]["runtime"] == "ok"
        assert (await get(http, base + "/healthz"))[0] == 200  # alive all the same
        scraped: dict[str, str] = {}

        async def database_down() -> bool:
            status, scraped["text"] = await get(http, base + "/metrics")
            return status == 200 and sample(scraped["text"], "alliance_bot_database_up") == 0.0

        await bot.until(database_down, "/metrics saying the database is down", within=15)

        await asyncio.to_thread(own_postgres.resume)
        await bot.until(lambda: answers("/readyz", 200), "/readyz 200 again", within=30)
        assert await bot.terminate() == 0
    finally:
        await bot.close()

    log = bot.tail(1_000_000)
    assert PASSWORD not in log
    entries = [json.loads(line) for line in log.splitlines() if line and not line.startswith("---")]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any("Health and metrics at" in e["message"] for e in entries)


async def test_slack_over_http_serves_them_beside_its_events(
    tmp_path: Path, sqlite_url: str, http: aiohttp.ClientSession
) -> None:
    fake = await FakeSlack().start()
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, SLACK_ALLIANCE, encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    port = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=Pacing.unlimited())
    adapter = SlackAdapter(port, signing_secret=SECRET, http_port=0)
    runtime = Runtime(sqlite_url, clock, {"slack": port}, alliance_file=file, real_time=False)
    own = await serve_http(runtime, [adapter], HttpSettings())  # no port of their own
    assert own is not None
    await runtime.start()
    try:
        await adapter.start(runtime)
        base = adapter.url.removesuffix("/slack/events")
        assert (await get(http, base + "/healthz"))[0] == 200
        status, body = await get(http, base + "/readyz")
        assert (status, json.loads(body)["checks"]["slack"]) == (200, "ok")
        status, text = await get(http, base + "/metrics")
        assert sample(text, "alliance_bot_adapter_connected", platform="slack") == 1.0
        assert sample(text, "alliance_bot_rate_limited_total", platform="slack") == 0.0
        async with http.post(adapter.url, data=b"{}") as unsigned:  # the guard still holds
            assert unsigned.status == 401

        fake.fail("chat.postMessage", 429, "ratelimited")  # the reply's first try: slow down
        body = json.dumps(message_event(user_of("berta"), "D0BERTA", "help"))
        async with http.post(adapter.url, data=body, headers=signed(body)) as response:
            assert response.status == 200
        for _ in range(100):
            if fake.channel("D0BERTA"):
                break
            await runtime.advance(clock.now() + timedelta(seconds=2))
            await asyncio.sleep(0.05)
        assert fake.channel("D0BERTA"), "the reply went out after the 429"
        status, text = await get(http, base + "/metrics")
        assert sample(text, "alliance_bot_rate_limited_total", platform="slack") == 1.0
        assert (sample(text, "alliance_bot_send_seconds_count", platform="slack") or 0) >= 1
    finally:
        await adapter.stop()
        await runtime.stop()
        await own.stop()
        await fake.stop()


async def test_our_own_pacing_is_counted_as_a_wait(
    tmp_path: Path, sqlite_url: str, http: aiohttp.ClientSession
) -> None:
    """Two replies due at once in a workspace paced at one message a second: the second waits
    about a second, and /metrics says so (cause ``pacing``, not ``429``)."""
    fake = await FakeSlack().start()
    file = tmp_path / "alliance.yaml"
    await asyncio.to_thread(file.write_text, SLACK_ALLIANCE, encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    pacing = Pacing(
        channel_per_second=0, workspace_per_minute=60, workspace_burst=1, tier3_per_minute=0
    )
    port = SlackPort(TOKEN, clock, api_url=fake.api_url, pacing=pacing)
    adapter = SlackAdapter(port, signing_secret=SECRET, http_port=0)
    runtime = Runtime(sqlite_url, clock, {"slack": port}, alliance_file=file, real_time=False)
    await runtime.start()
    try:
        await adapter.start(runtime)
        dms = {"berta": "D0BERTA", "bo": "D0BO"}
        for who, dm in dms.items():
            body = json.dumps(message_event(user_of(who), dm, "help"))
            async with http.post(adapter.url, data=body, headers=signed(body)) as response:
                assert response.status == 200
        for _ in range(100):
            if all(fake.channel(dm) for dm in dms.values()):
                break
            await runtime.advance(clock.now() + timedelta(seconds=1))
            await asyncio.sleep(0.05)
        assert all(fake.channel(dm) for dm in dms.values())
        text = generate_latest(runtime.metrics.registry).decode()
        labels = {"platform": "slack"}
        paced = sample(text, "alliance_bot_rate_limit_wait_seconds_total", cause="pacing", **labels)
        assert paced is not None and 0.5 <= paced <= 5, text
        assert sample(
            text, "alliance_bot_rate_limit_wait_seconds_total", cause="429", **labels
        ) in (
            None,
            0.0,
        )
    finally:
        await adapter.stop()
        await runtime.stop()
        await fake.stop()
