"""The Matrix adapter when things go wrong: rate limits, a homeserver outage, a killed bot."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from adapters.matrix import translate
from bot.storage.database import Database
from bot.storage.records import CheckIn, CheckInRevision, Delivery, ProcessedEvent
from tests.conftest import REPO
from tests.harness import ALLIANCE
from tests.harnesses.matrix import HarnessMaker, MatrixHarness
from tests.matrixmember import BOT, PICKLE, MemberClient

SUNDAY = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
MEMBERS = ("berta", "nina", "sam", "sid")


def alliance(campaigns: str) -> str:
    head = ALLIANCE.split("campaigns:")[0]
    return head + "campaigns:\n" + textwrap.indent(textwrap.dedent(campaigns), "  ")


async def test_default_rate_limits_delay_prompts_but_lose_none(make_matrix: HarnessMaker) -> None:
    """Synapse's own limits (0.2 messages/s after a burst of 10): 10 prompts at once, after
    the two direct chats were opened."""
    prompts = (
        "name-a-barrier, comms-two-people-should-meet, comms-wish-partners-knew, "
        "agenda-shared-challenge, agenda-community-need"
    )
    text = alliance(f"""\
        - key: burst
          name: Burst
          ask: all at once            # ten sends at once: the homeserver's limit is under test
          prompts: [{prompts}]
          audience: {{members: [berta, nina]}}
          schedule: "0 6 * * *"
          timezone: UTC
        """)
    h = await make_matrix(SUNDAY, text, kind="default-limits")
    at = SUNDAY + timedelta(hours=6, minutes=1)
    await h.runtime.advance(at)

    def prompts(member: str) -> int:
        return len([r for r in h.inbox(member) if r.is_prompt])

    for _ in range(20):  # a refused send waits in the outbox as long as the homeserver asked
        if prompts("berta") + prompts("nina") == 10:
            break
        at += timedelta(seconds=10)
        await h.runtime.advance(at)
    assert [prompts("berta"), prompts("nina")] == [5, 5]
    assert h.adapter.matrix_port.pacer.holds > 0  # the homeserver did say “slow down”
    async with h.runtime.db.session() as s:
        rows = (await s.scalars(select(Delivery))).all()
    assert {(d.status, d.attempts) for d in rows} == {("sent", 1)}


async def test_a_homeserver_outage_mid_campaign_loses_nothing(make_matrix: HarnessMaker) -> None:
    h = await make_matrix(SUNDAY, ALLIANCE)
    server = h.session.server
    await h.run_until(SUNDAY + timedelta(hours=23))  # Sydney's 09:00 went out at 22:00 UTC
    sam_prompt = [r for r in h.inbox("sam") if r.is_prompt][-1].ref

    def prompts(member: str) -> list[str]:
        return [r.ref for r in h.inbox(member) if r.is_prompt]

    assert [len(prompts(m)) for m in ("sam", "berta")] == [1, 1]  # Sunday's
    try:
        await asyncio.to_thread(server.stop)
        await h.runtime.advance(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))  # Berlin's 09:00
        assert len(prompts("berta")) == 1
        async with h.runtime.db.session() as s:
            waiting = await s.scalar(select(Delivery).where(Delivery.status == "pending"))
            assert waiting is not None and waiting.attempts == 0  # nothing reached it
            assert (waiting.last_error or "").startswith("unreachable")
    finally:
        await asyncio.to_thread(server.start)
    await h.runtime.advance(datetime(2026, 11, 23, 8, 45, tzinfo=UTC))
    assert len(prompts("berta")) == 2
    assert "Thank you" in (await h.reply("sam", sam_prompt, "Sent before the outage."))[0]
    assert "Thank you" in (await h.reply("berta", prompts("berta")[-1], "Sent after it."))[0]
    async with h.runtime.db.session() as s:
        answers = {c.answer_text for c in (await s.scalars(select(CheckIn))).all()}
        statuses = (await s.scalars(select(Delivery.status))).all()
    assert answers == {"Sent before the outage.", "Sent after it."}
    assert set(statuses) == {"sent"}
    assert [len(prompts(m)) for m in ("sam", "berta")] == [1, 2]  # nothing sent twice


# --- a bot process killed while members keep answering ----------------------------------------


def bot_environment(h: MatrixHarness) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_BOT_")}
    bot = h.session.account(BOT)
    env.update(
        ALLIANCE_BOT_DATABASE_URL=h.url,
        ALLIANCE_BOT_ALLIANCE_FILE=str(h.file),
        ALLIANCE_BOT_DATA_DIR=str(h.tmp_path / "data"),
        ALLIANCE_BOT_LOG_LEVEL="INFO",
        ALLIANCE_BOT_CONSOLE__ENABLED="false",
        ALLIANCE_BOT_MATRIX__HOMESERVER=h.session.server.url,
        ALLIANCE_BOT_MATRIX__USER_ID=bot.user_id,
        ALLIANCE_BOT_MATRIX__ACCESS_TOKEN=bot.access_token,
        ALLIANCE_BOT_MATRIX__DEVICE_ID=bot.device_id,
        ALLIANCE_BOT_MATRIX__STORE_PATH=str(h.session.store(BOT)),
        ALLIANCE_BOT_MATRIX__PICKLE_KEY=PICKLE,
    )
    return env


BOT_PROCESS = """
import asyncio, logging
from adapters.commands_run import serve
from adapters.matrix.adapter import MatrixAdapter
from bot.clock import SystemClock
from bot.runtime import Runtime
from adapters.settings import load_settings

settings = load_settings()
logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
clock = SystemClock()
adapter = MatrixAdapter.from_settings(settings, clock)
runtime = Runtime(settings.effective_database_url, clock, {"matrix": adapter.port},
                  alliance_file=settings.alliance_file)
asyncio.run(serve(runtime, None, adapters=[adapter]))
"""


def start_bot(h: MatrixHarness, log: Path) -> subprocess.Popen[bytes]:
    """The bot in its own process, built from ALLIANCE_BOT_* settings as ``alliance-bot run``
    builds it (``MatrixAdapter.from_settings``, then ``serve``), on the harness's database."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", BOT_PROCESS],
            cwd=REPO,
            env=bot_environment(h),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def replies_seen(member: MemberClient, answer: str) -> int:
    return sum(1 for _e, _r, c in member.from_bot() if c.get(translate.REPLY_TO_KEY) == answer)


async def answer_all(h: MatrixHarness, prompts: dict[str, str], text: str) -> dict[str, str]:
    async def one(name: str) -> str:
        member = h.members[name]
        body = {
            "msgtype": "m.text",
            "body": f"{text} ({name})",
            "m.relates_to": translate.relation(prompts[name], None),
        }
        return await member.send(member.seen[prompts[name]][0], body)

    ids = await asyncio.gather(*(one(name) for name in MEMBERS))
    return dict(zip(MEMBERS, ids, strict=True))


async def processed(url: str, event_ids: list[str]) -> int:
    db = Database(url)
    try:
        async with db.session() as s:
            return int(
                await s.scalar(
                    select(func.count())
                    .select_from(ProcessedEvent)
                    .where(ProcessedEvent.event_id.in_(event_ids))
                )
                or 0
            )
    finally:
        await db.dispose()


async def test_a_killed_bot_neither_loses_nor_duplicates_answers(
    make_matrix: HarnessMaker, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    text = alliance("""\
        - key: hourly
          name: Hourly
          prompts: [name-a-barrier]
          audience: {members: [berta, nina, sam, sid]}
          schedule: "0 * * * *"
        """)
    h = await make_matrix(now, text)  # prompts go out at the next full hour of a manual clock
    await h.runtime.advance(now.replace(minute=0) + timedelta(hours=1, minutes=1))
    prompts = {name: [r for r in h.inbox(name) if r.is_prompt][-1].ref for name in MEMBERS}
    await h.runtime.stop()  # from here on the bot is a real `alliance-bot run` process
    log = tmp_path / "bot.log"

    async def wait(condition: Callable[[], Awaitable[bool]], what: str) -> None:
        for _ in range(600):
            if await condition():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{what} within 60 s; bot log:\n{log.read_text()[-3000:]}")

    def replied(answers: dict[str, str]) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return all(replies_seen(h.members[n], answers[n]) >= 1 for n in MEMBERS)

        return check

    bot = start_bot(h, log)
    try:
        first = await answer_all(h, prompts, "first")
        await wait(replied(first), "every first answer answered")
        second = await answer_all(h, prompts, "second")
        await asyncio.sleep(0.05)  # the bot is reading them: kill it now
        bot.kill()
        await asyncio.to_thread(bot.wait, 10)
        third = await answer_all(h, prompts, "third")  # sent while no bot runs
        every = [*first.values(), *second.values(), *third.values()]
        bot = start_bot(h, log)

        async def all_handled() -> bool:
            return await processed(h.url, every) == len(every)

        await wait(all_handled, "every answer handled")
        await wait(replied(third), "every third answer answered")
        bot.terminate()
        await asyncio.to_thread(bot.wait, 30)
    finally:
        if bot.poll() is None:
            bot.kill()
            await asyncio.to_thread(bot.wait, 10)

    db = Database(h.url)
    try:
        async with db.session() as s:
            checkins = {c.answer_text: c for c in (await s.scalars(select(CheckIn))).all()}
            revisions = (
                await s.scalars(select(CheckInRevision).order_by(CheckInRevision.id))
            ).all()
    finally:
        await db.dispose()
    assert sorted(checkins) == sorted(f"third ({n})" for n in MEMBERS)
    by_checkin: dict[int, list[str]] = {}
    for revision in revisions:
        by_checkin.setdefault(revision.checkin_id, []).append(revision.answer_text)
    for name in MEMBERS:
        history = by_checkin[checkins[f"third ({name})"].id]
        assert history == [f"first ({name})", f"second ({name})"]
    for answer in every:
        count = sum(replies_seen(h.members[n], answer) for n in MEMBERS)
        assert count <= 1, f"{answer} was answered {count} times"
    assert all(replies_seen(h.members[n], third[n]) == 1 for n in MEMBERS)
