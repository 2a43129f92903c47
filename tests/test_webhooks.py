"""Webhooks (issue 17, point 4), as a dashboard gets them: a loopback receiver checks every
signature; a check-in, a corrected figure and a digest each arrive as an event. A receiver
that fails three times gets the event exactly once; one that stays down is disabled, its
admins are told, and nothing is lost: enabling it sends what was held. A reader's endpoint
gets shared answers only, and is told when one is unshared or erased."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.webhooks import HttpPoster
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.storage.records import CheckIn, Delivery, Webhook
from bot.webhooks import endpoints, signing
from tests.harnesses.console import ConsoleHarness
from tests.webhook_receiver import Receiver

SUNDAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
SECRET = "whsec_test-secret-for-the-dashboard"
ENV = "ALLIANCE_TEST_DASHBOARD_SECRET"


def alliance(url: str, role: str = "staff", disable_after: int = 12) -> str:
    return textwrap.dedent(f"""\
        alliance: {{name: Hook Alliance, default_timezone: UTC}}
        organisations:
          - {{slug: lib, name: The Library, country: DE, timezone: UTC}}
          - {{slug: ngo, name: Readers NGO, country: FR, timezone: UTC}}
        members:
          - {{id: lea, name: Lea, organisation: lib, reporting: true}}
          - {{id: tom, name: Tom, organisation: ngo, reporting: true, locale: fr}}
          - {{id: ada, name: Ada, organisation: lib, role: admin}}
        measures:
          - {{key: sessions, name: Digital-skills sessions, unit: sessions, target: 30}}
        campaigns:
          - key: weekly
            name: Weekly
            prompts: [name-a-barrier]
            audience: {{organisations: [lib, ngo]}}
            schedule: "0 9 * * MON"
          - key: figures
            name: Figures
            measures: [sessions]
            audience: {{reporting_only: true}}
            schedule: "0 10 1 * *"
        digests:
          - {{key: weekly-digest, schedule: "0 8 * * MON", to: [admin], period: last week}}
        webhooks:
          - key: dash
            url: {url}
            secret_env: {ENV}
            role: {role}
            disable_after: {disable_after}
        """)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = await Receiver(SECRET).start()
    try:
        yield found
    finally:
        await found.stop()


async def started(
    tmp_path: Path, url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, **kw: object
) -> ConsoleHarness:
    monkeypatch.setenv(ENV, SECRET)
    text = alliance(receiver.url, **kw)  # type: ignore[arg-type]
    h = ConsoleHarness(tmp_path, url, SUNDAY, text, webhooks=HttpPoster())
    receiver.clock = lambda: h.clock.now().timestamp()
    await h.runtime.start()
    return h


async def answer_the_barrier(h: ConsoleHarness, member: str, text: str) -> int:
    prompt = next(r for r in h.inbox(member) if r.is_prompt)
    await h.reply(member, prompt.ref, text)
    async with h.runtime.db.session() as s:
        return int(await s.scalar(select(CheckIn.id).where(CheckIn.answer_text == text)) or 0)


async def later(h: ConsoleHarness, minutes: int, step: int = 5) -> None:
    await h.run_until(h.clock.now() + timedelta(minutes=minutes), timedelta(minutes=step))


async def test_a_receiver_failing_three_times_gets_each_event_exactly_once(
    tmp_path: Path, db_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(tmp_path, db_url, receiver, monkeypatch)
    try:
        await h.run_until(MONDAY)
        digests = receiver.accepted("digest.produced")
        assert len(digests) == 1 and digests[0].body["data"]["period"] == "2026-W48"
        receiver.statuses = [500, 502, 503]
        checkin = await answer_the_barrier(h, "lea", "Our calendars never line up.")
        await later(h, 240)
        tries = [g for g in receiver.got if g.event == "checkin.stored"]
        assert [g.status for g in tries] == [500, 502, 503, 200]
        assert len({g.delivery for g in tries}) == 1  # one event, tried four times
        assert all(g.signed for g in tries)
        stored = receiver.accepted("checkin.stored")
        assert len(stored) == 1
        data = stored[0].body["data"]
        assert data["id"] == checkin and data["text"] == "Our calendars never line up."
        assert data["member"] == {"handle": "lea", "name": "Lea"}  # a staff endpoint
        assert data["question"].startswith("Name one barrier")
        gaps = [b.stamp - a.stamp for a, b in zip(tries, tries[1:], strict=False)]
        assert all(gap >= 30 for gap in gaps), gaps  # backed off, not hammered
        async with h.runtime.db.session() as s:
            hook = await s.scalar(select(Webhook))
            assert hook is not None and hook.active and hook.failures == 0
        # A figure reported on the 1st, then corrected: the dashboard's number follows.
        await h.run_until(datetime(2026, 12, 1, 10, 5, tzinfo=UTC))
        figure = next(r for r in h.inbox("tom") if r.is_prompt and "session" in r.text.lower())
        await h.reply("tom", figure.ref, "12")
        await later(h, 10)
        await h.reply("tom", figure.ref, "14")
        await later(h, 10)
        changed = receiver.accepted("measure.changed")
        assert [c.body["data"]["organisation"] for c in changed] == ["ngo", "ngo"]
        totals = [c.body["data"]["measure"]["figures"][0]["total"] for c in changed]
        assert totals == [12, 14]
        assert changed[0].body["data"]["measure"]["figures"][0]["period"] == "2026-11"
        assert len(receiver.accepted("checkin.edited")) == 1
    finally:
        await h.runtime.stop()


async def test_a_forged_or_stale_signature_is_refused() -> None:
    body = b'{"event": "ping"}'
    stamp = 1_800_000_000
    signed = signing.signature(SECRET, stamp, body)
    assert signing.verify(SECRET, body, str(stamp), signed, now=stamp + 10)
    assert not signing.verify("whsec_other", body, str(stamp), signed, now=stamp)
    assert not signing.verify(SECRET, body + b" ", str(stamp), signed, now=stamp)
    assert not signing.verify(SECRET, body, str(stamp), signed, now=stamp + 301)
    assert not signing.verify(SECRET, body, "soon", signed, now=stamp)
    assert not signing.verify(SECRET, body, None, signed, now=stamp)


async def test_an_endpoint_that_stays_down_is_disabled_and_loses_nothing(
    tmp_path: Path, sqlite_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(tmp_path, sqlite_url, receiver, monkeypatch, disable_after=3)
    try:
        receiver.statuses = [503] * 50
        await h.run_until(MONDAY)
        await answer_the_barrier(h, "lea", "No shared calendar.")
        await answer_the_barrier(h, "tom", "Pas de budget commun.")
        await later(h, 600, step=10)
        assert len(receiver.got) == 3, [g.status for g in receiver.got]  # then it stopped
        notices = [m for m in h.port.messages if m.to == "ada" and "webhook" in m.text]
        assert len(notices) == 1
        assert "3 failures in a row" in notices[0].text
        assert "alliance-bot webhook enable dash" in notices[0].text
        async with h.runtime.db.session() as s:
            held = (
                await s.scalars(
                    select(Delivery.status).where(Delivery.kind == DeliveryKind.WEBHOOK.value)
                )
            ).all()
        assert set(held) == {DeliveryStatus.HELD.value}
        assert len(held) == 3  # the digest and the two check-ins, none dropped
        # The dashboard is fixed; an admin enables the endpoint: everything held arrives.
        receiver.statuses = []
        async with h.runtime.db.session() as s:
            assert await endpoints.enable(s, "dash", at=h.clock.now()) == 3
        await later(h, 5)
        assert len(receiver.accepted()) == 3
        texts = {g.body["data"].get("text") for g in receiver.accepted("checkin.stored")}
        assert texts == {"No shared calendar.", "Pas de budget commun."}
    finally:
        await h.runtime.stop()


async def test_a_reader_endpoint_gets_shared_answers_only(
    tmp_path: Path, sqlite_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(tmp_path, sqlite_url, receiver, monkeypatch, role="reader")
    try:
        await h.run_until(MONDAY)
        checkin = await answer_the_barrier(h, "lea", "Room bookings clash.")
        await later(h, 10)
        assert receiver.accepted("checkin.stored") == []  # not shared: never sent
        await h.command("lea", "share", str(checkin))
        await later(h, 10)
        edited = receiver.accepted("checkin.edited")
        assert len(edited) == 1
        assert edited[0].body["data"]["text"] == "Room bookings clash."
        assert edited[0].body["data"]["member"] is None  # a reader never learns who
        await h.command("lea", "unshare", str(checkin))
        await later(h, 10)
        gone = receiver.accepted("checkin.deleted")
        assert [g.body["data"] for g in gone] == [{"checkins": [checkin], "reason": "unshared"}]
    finally:
        await h.runtime.stop()


async def test_an_answer_erased_before_it_was_sent_never_leaves(
    tmp_path: Path, sqlite_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(tmp_path, sqlite_url, receiver, monkeypatch)
    try:
        await h.run_until(MONDAY)
        url = receiver.url
        await receiver.stop()  # the dashboard is down: connection refused
        checkin = await answer_the_barrier(h, "lea", "A private worry about our director.")
        await later(h, 10)
        await h.command("lea", "mydata", f"delete {checkin}")
        receiver.got.clear()
        restarted = await Receiver(SECRET, clock=receiver.clock).start()
        async with h.runtime.db.session() as s:
            hook = await s.scalar(select(Webhook))
            assert hook is not None
            hook.url, hook.retry_at = restarted.url, None
        await later(h, 30)
        assert url != restarted.url
        assert restarted.accepted("checkin.stored") == []
        raw = b"".join(g.raw for g in restarted.got)
        assert b"private worry" not in raw
        deleted = restarted.accepted("checkin.deleted")
        assert [g.body["data"] for g in deleted] == [{"checkins": [checkin], "reason": "deleted"}]
        await restarted.stop()
    finally:
        await h.runtime.stop()


async def test_admins_manage_webhooks_from_the_command_line(tmp_path: Path) -> None:
    """The real CLI: a secret printed once, a polite refusal for a plain-http address, and
    the list that says how each endpoint is doing."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "ALLIANCE_BOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        "COLUMNS": "200",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "adapters", "webhook", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = cli("add", "dash", "http://dashboard.example.org/hook")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "use https://" in refused.stderr
    made = cli("add", "dash", "https://dashboard.example.org/hook?token=abc", "--role", "staff")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("whsec_")
    assert "shown this once" in made.stderr
    listed = cli("list")
    assert "dash" in listed.stdout and "dashboard.example.org" in listed.stdout
    assert "token=abc" not in listed.stdout + made.stderr  # the receiver's own token stays out
    assert cli("test", "dash").returncode == 0
    assert "No webhook is called “nope”" in cli("enable", "nope").stderr


def test_validating_a_file_says_when_a_webhook_secret_is_not_set(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    file = tmp_path / "alliance.yaml"
    file.write_text(alliance("https://dash.example.org/hook"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != ENV}
    run = subprocess.run(
        [sys.executable, "-m", "adapters", "alliance", "validate", str(file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert f"signs with ${ENV}, which is not set here" in run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "adapters", "alliance", "validate", str(file)],
        env={**env, ENV: SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and "not set" not in run.stderr


async def test_an_event_that_cannot_be_read_fails_alone(
    tmp_path: Path, sqlite_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row whose body cannot be built is marked failed once, not retried forever, and the
    endpoint's other events still arrive."""
    h = await started(tmp_path, sqlite_url, receiver, monkeypatch)
    try:
        async with h.runtime.db.session() as s:
            hook = await s.scalar(select(Webhook))
            assert hook is not None
            now = h.clock.now()
            s.add(
                Delivery(
                    dedupe_key=f"w:{hook.id}:measure.changed:broken",
                    kind=DeliveryKind.WEBHOOK.value,
                    lane=2,
                    platform="webhook",
                    scheduled_at=now,
                    next_attempt_at=now,
                    status=DeliveryStatus.PENDING.value,
                    payload={"endpoint": hook.id, "event": "measure.changed"},
                    created_at=now,
                )
            )
            await endpoints.ping(s, "dash", at=now)
        await later(h, 5)
        async with h.runtime.db.session() as s:
            broken = await s.scalar(select(Delivery).where(Delivery.dedupe_key.endswith(":broken")))
        assert broken is not None and broken.status == DeliveryStatus.FAILED.value
        assert [g.event for g in receiver.accepted()] == ["ping"]
    finally:
        await h.runtime.stop()
