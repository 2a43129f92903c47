"""Nothing lost, nothing twice: a real bot process SIGKILLed while it sends a 1,000-member campaign.

The campaign's due deliveries are prepared in the database (a Runtime on a ManualClock a minute
in the past, stopped before it sends anything); then a real ``alliance-bot run`` (Slack through
the fake Web API over HTTP, the console on its stdout) sends them and is SIGKILLed four times:
(1) while the lane is full of prompts Slack posted but whose answers never came back, (2) a
third of the way, (4) while members answer in their prompts' threads, right after some answers
are stored, and (3) near the end. It starts again after each kill; at the end it finishes and
stops on SIGTERM. Like Slack, the test delivers an event again when it got no 200 for it.

What members would notice: every prompt arrives, exactly once on Slack; the console prints
again at most what was in flight at a kill; every answer Slack got a 200 for is stored once and
acknowledged once. After a restart the bot looks in Slack's history only for the sends whose
outcome it never recorded, not for the rest of the batch.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from adapters.slack.blocks import METADATA_EVENT, METADATA_REPLY
from bot.storage.database import Database
from bot.storage.models import Member
from bot.storage.records import CheckIn, Delivery
from tests.botprocess import BotProcess, bot_env, free_port
from tests.fakeslack import TOKEN, FakeSlack
from tests.fakeslack_parts import Limits
from tests.harnesses.slack import SECRET, message_event, signed
from tests.workspaces import prepare

MEMBERS = 1000
LANE = 32
"""The campaign lane's capacity (bot/delivery.py: ``Dispatcher(concurrency=32)``)."""
CAP = 12000.0
"""Messages a minute, at the fake and in the bot's pacing (Slack's ~600 scaled 20x)."""
CONSOLE_LINE = re.compile(r"bot → (\S+) \(DM\) p(\d+)")
SENDING = Delivery.status == "sending"


def is_console(n: int) -> bool:
    """Every tenth member has no Slack account: the console gets their prompts."""
    return n % 10 == 5


def alliance(fire: datetime) -> str:
    lines = [
        "alliance: {name: Crash, default_timezone: UTC}",
        "organisations:",
        "  - {slug: org, name: Org, kind: library, country: DE, timezone: UTC}",
        "members:",
    ]
    for n in range(MEMBERS):
        slack = "" if is_console(n) else f', slack: "T0TEST:U0M{n:04d}"'
        lines.append(f"  - {{id: m{n:04d}, name: M{n}, organisation: org{slack}}}")
    lines += [
        "campaigns:",
        "  - {key: pulse, name: Pulse, prompts: [name-a-barrier], "
        f"schedule: '{fire:%M %H} * * *', timezone: UTC}}",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class HeldFake(FakeSlack):
    """The fake Web API; while ``holding``, a chat.postMessage takes effect but its answer waits
    (the bot never learns that Slack posted it)."""

    holding: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.held = 0
        self.released = asyncio.Event()
        self.posted: Counter[str] = Counter()
        """Prompts posted, by DM channel."""

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        posted = request.match_info["method"] == "chat.postMessage" and response.status == 200
        if self.holding and posted:
            self.held += 1
            await self.released.wait()
        return response

    def _chat_postMessage(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        result = super()._chat_postMessage(body, now)
        meta = body.get("metadata") or {}
        if meta.get("event_type") == METADATA_EVENT and not body.get("thread_ts"):
            self.posted[result["channel"]] += 1
        return result

    def acks(self) -> Counter[str]:
        """Replies (acknowledgements) posted, per thread (``channel:thread_ts``)."""
        return Counter(
            f"{m.channel}:{m.thread_ts}"
            for messages in self.messages.values()
            for m in messages
            if (m.metadata or {}).get("event_type") == METADATA_REPLY
        )

    def lookups(self, since: int, until: int) -> tuple[Counter[str], int]:
        """Look-ups for an earlier post: conversations.history for prompts, by channel
        (mark-answered reads one message by its ts: those have ``latest``), and how many
        conversations.replies for replies."""
        calls = list(self.calls)[since:until]
        history = Counter(
            str(c.body.get("channel"))
            for c in calls
            if c.method == "conversations.history" and "latest" not in c.body
        )
        return history, sum(1 for c in calls if c.method == "conversations.replies")


class Answers:
    """Members answering in their prompt's thread with signed events, as Slack delivers them;
    an event that got no 200 is delivered again later (Slack's retry, same body)."""

    def __init__(self, fake: HeldFake, url: str) -> None:
        self.fake = fake
        self.url = url
        self.accepted: dict[str, str] = {}
        """Member handle -> the answer Slack got a 200 for."""
        self.unacked: dict[str, dict[str, Any]] = {}
        self.sent: set[int] = set()
        self.paused = False
        """Set when the bot is down: Slack keeps the rest for later."""

    def body(self, n: int) -> dict[str, Any] | None:
        channel = f"D0M{n:04d}"
        prompt = next((m for m in self.fake.channel(channel) if m.thread_ts is None), None)
        if prompt is None:
            return None
        return message_event(f"U0M{n:04d}", channel, f"answer from m{n:04d}", thread_ts=prompt.ts)

    async def post(self, session: aiohttp.ClientSession, who: str, body: dict[str, Any]) -> None:
        text = json.dumps(body)
        headers = {"Content-Type": "application/json", **signed(text, SECRET)}
        if who in self.unacked:
            headers["X-Slack-Retry-Num"] = "1"
        try:
            async with session.post(self.url, data=text, headers=headers) as response:
                ok = response.status == 200
        except (aiohttp.ClientError, OSError):
            ok = False
        if ok:
            self.accepted[who] = body["event"]["text"]
            self.unacked.pop(who, None)
        else:
            self.unacked[who] = body

    async def stream(self, members: list[int], every: float = 0.01) -> None:
        """An answer from each of ``members`` whose prompt Slack shows, one every ``every`` s."""
        async with aiohttp.ClientSession() as session:
            pending: set[asyncio.Task[None]] = set()
            for n in members:
                body = None if n in self.sent or self.paused else self.body(n)
                if body is not None:
                    self.sent.add(n)
                    pending.add(asyncio.create_task(self.post(session, f"m{n:04d}", body)))
                    await asyncio.sleep(every)
            await asyncio.gather(*pending)

    async def retry(self) -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self.post(session, w, b) for w, b in list(self.unacked.items())))


@dataclass
class Kill:
    name: str
    calls_at_kill: int
    in_flight: set[int]
    """Campaign deliveries ``sending`` when the bot died."""
    slack_in_flight: int
    replies_in_flight: int
    slack_channels: set[str] = field(default_factory=set)
    """The DM channels of the Slack prompts in flight."""
    figures: dict[str, Any] = field(default_factory=dict)
    calls_at_restart: int = 0


class Scenario:
    def __init__(self, url: str, fake: HeldFake, tmp: Path) -> None:
        self.db = Database(url)
        self.fake = fake
        self.console_ids: set[int] = set()
        """The deliveries to console members."""
        port = free_port()
        env = bot_env(url, tmp / "data", SLACK__API_URL=fake.api_url, SLACK__BOT_TOKEN=TOKEN,
                      SLACK__SIGNING_SECRET=SECRET, SLACK__PORT=str(port),
                      SLACK__WORKSPACE_PER_MINUTE=str(CAP), SLACK__CHANNEL_PER_SECOND="1",
                      SLACK__TIER3_PER_MINUTE="0", CONSOLE__ENABLED="true")  # fmt: skip
        self.bot = BotProcess(env, tmp / "bot.log")
        self.answers = Answers(fake, f"http://127.0.0.1:{port}/slack/events")
        self.slack_members = [n for n in range(MEMBERS) if not is_console(n)]
        self.kills: list[Kill] = []
        self.t0 = time.monotonic()

    async def count(self, *where: Any, of: Any = Delivery.id) -> int:
        async with self.db.session() as s:
            return int(await s.scalar(select(func.count(of)).where(*where)) or 0)

    def posted(self, share: float) -> bool:
        return len(self.fake.posted) >= len(self.slack_members) * share

    async def restart(self) -> None:
        if self.kills:
            self.kills[-1].calls_at_restart = len(self.fake.calls)
        await self.bot.start()
        await self.bot.until(self.listening, "the Slack adapter listening", 60)
        self.answers.paused = False
        await self.answers.retry()

    async def listening(self) -> bool:
        try:
            async with aiohttp.ClientSession() as s, s.get(self.answers.url) as r:
                return r.status in (200, 404, 405)
        except aiohttp.ClientError:
            return False

    def answering(self, share: float) -> asyncio.Task[None]:
        return asyncio.create_task(
            self.answers.stream(self.slack_members[: int(len(self.slack_members) * share)])
        )

    async def kill(self, name: str, streaming: asyncio.Task[None] | None = None) -> None:
        await self.bot.kill()
        calls = len(self.fake.calls)
        self.answers.paused = True
        if streaming is not None:
            await streaming  # each request on the way got its 200 or an error
        async with self.db.session() as s:
            sending = (
                await s.execute(
                    select(Delivery.id, Delivery.lane, Member.handle)
                    .outerjoin(Member, Member.id == Delivery.member_id)
                    .where(SENDING)
                )
            ).all()
        in_flight = {i for i, lane, _ in sending if lane == 1}
        k = Kill(name, calls, in_flight, len(in_flight - self.console_ids),
                 sum(1 for _, lane, _ in sending if lane == 0))  # fmt: skip
        k.slack_channels = {
            f"D0M{int(h[1:]):04d}"
            for i, lane, h in sending
            if lane == 1 and h and i not in self.console_ids
        }
        k.figures = dict(
            at_s=round(time.monotonic() - self.t0, 1), accepted=len(self.answers.accepted),
            stored=await self.count(of=CheckIn.id), on_slack=len(self.fake.posted),
            sent=await self.count(Delivery.status == "sent", Delivery.lane == 1),
            duplicates=sum(c - 1 for c in self.fake.posted.values()),
        )  # fmt: skip
        self.kills.append(k)

    def report(self, end: int, printed: list[set[int]]) -> str:
        lines = []
        for i, k in enumerate(self.kills):
            until = self.kills[i + 1].calls_at_kill if i + 1 < len(self.kills) else end
            history, replies = self.fake.lookups(k.calls_at_restart, until)
            again = printed[i + 1] & set().union(*printed[: i + 1])
            k.figures.update(history=sum(history.values()), looked_in=set(history),
                             replies=replies, reprinted=len(again))  # fmt: skip
            f = k.figures
            lines.append(
                f"kill {k.name} (at {f['at_s']} s): answers accepted {f['accepted']} / stored "
                f"{f['stored']}; prompts due {MEMBERS} / recorded sent {f['sent']} (Slack shows "
                f"{f['on_slack']}); in flight {len(k.in_flight)} (Slack {k.slack_in_flight}, "
                f"replies {k.replies_in_flight}); Slack duplicates {f['duplicates']}; console "
                f"re-printed {len(again)}; after the restart: history look-ups "
                f"{sum(history.values())} in {len(history)} DMs, "
                f"thread look-ups {replies}"
            )
        return "\n".join(lines)


async def test_sigkill_during_a_1000_member_campaign_loses_and_repeats_nothing(
    db_url: str, tmp_path: Path
) -> None:
    fire = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    file = tmp_path / "alliance.yaml"
    file.write_text(alliance(fire), encoding="utf-8")
    fake = HeldFake(limits=Limits(workspace_per_minute=CAP, workspace_burst=10))
    await fake.start()
    x: Scenario | None = None
    try:
        t0 = time.monotonic()
        assert await prepare(db_url, file, fire) == MEMBERS
        print(f"\n[{db_url.split('+')[0]}] deliveries prepared in {time.monotonic() - t0:.1f} s")
        x = Scenario(db_url, fake, tmp_path)
        async with x.db.session() as s:
            handles = (await s.execute(select(Delivery.id, Member.handle).join(Member))).all()
        x.console_ids = {i for i, h in handles if is_console(int(h[1:]))}
        bot = x.bot

        fake.holding = True  # 1: the lane is full of posted prompts whose answers never came
        await bot.start()
        await bot.until(lambda: fake.held >= LANE * 3 // 4, "prompts held at Slack", 60)
        await asyncio.sleep(0.5)  # the console's sends finished; held Slack sends fill the lane
        await x.kill("1 before any Slack send is answered")
        fake.holding = False
        fake.released.set()

        await x.restart()  # 2: a third of the way
        await bot.until(lambda: x.posted(1 / 3), "a third posted", 60, 0.005)
        await x.kill("2 a third of the way")

        await x.restart()  # 4: answers arrive while sending goes on
        before = await x.count(of=CheckIn.id)
        streaming = x.answering(1 / 6)

        async def stored_while_sending() -> bool:
            stored = await x.count(of=CheckIn.id) >= before + 20
            return stored and await x.count(SENDING, Delivery.lane == 1) > 0

        await bot.until(stored_while_sending, "20 answers stored while sending", 60, 0.01)
        await x.kill("4 while answers arrive", streaming)

        await x.restart()  # 3: near the end, answers still arriving
        streaming = x.answering(1 / 5)
        await bot.until(lambda: x.posted(0.95), "95% posted", 60, 0.005)
        await x.kill("3 near the end", streaming)

        await x.restart()
        await x.answering(1 / 5)

        async def finished() -> bool:
            return not await x.count(Delivery.status.in_(["pending", "sending"]))

        await bot.until(finished, "every prompt and reply sent", 60, 0.1)
        assert not x.answers.unacked, "Slack's retries were never answered with a 200"
        end = len(fake.calls)
        assert await bot.terminate() == 0, bot.tail()
        runs = bot.log.read_text(errors="replace").split("----- start ")[1:]
        printed = [{int(m[2]) for m in CONSOLE_LINE.finditer(run)} for run in runs]
        report = x.report(end, printed)
        print(report)
        await check(x, printed, report)
    finally:
        if x is not None:
            await x.bot.close()
            await x.db.dispose()
        fake.released.set()
        await fake.stop()


async def check(x: Scenario, printed: list[set[int]], report: str) -> None:
    why = f"\n{report}"
    prompts = x.fake.posted  # Slack: exactly one prompt per Slack member
    assert set(prompts) == {f"D0M{n:04d}" for n in x.slack_members}, why
    assert {c: k for c, k in prompts.items() if k != 1} == {}, why
    assert set().union(*printed) == x.console_ids, why  # the console: each at least once
    uncertain: set[str] = set()
    for i, k in enumerate(x.kills):
        uncertain |= k.slack_channels
        again = printed[i + 1] & set().union(*printed[: i + 1])
        assert again <= k.in_flight, f"printed again, not in flight at kill {k.name}{why}"
        assert len(again) <= LANE, why
        # look-ups only for sends a kill left in flight, not for the batch (one that looked,
        # then was rate limited, looks again on its next try, maybe after the next kill)
        assert k.figures["looked_in"] <= uncertain, why
        assert len(k.slack_channels) == k.slack_in_flight <= LANE, why
        assert k.figures["replies"] <= k.replies_in_flight, why
    assert x.kills[0].figures["history"] > 0, why  # the held posts were looked up

    async with x.db.session() as s:
        member_answer = select(Member.handle, CheckIn.answer_text).select_from(CheckIn).join(Member)
        stored = (await s.execute(member_answer)).all()
        statuses = (await s.scalars(select(Delivery.status).distinct())).all()
    accepted = x.answers.accepted
    assert len(accepted) > 50, why
    assert sorted(h for h, _ in stored) == sorted(accepted), why  # each stored once
    assert dict(stored) == accepted, why
    acks = x.fake.acks()  # each acknowledged once, in the thread of the prompt it answers
    prompt_ts = {c: next(m.ts for m in x.fake.channel(c) if m.thread_ts is None) for c in prompts}
    assert set(acks) == {f"D0M{h[1:]}:{prompt_ts[f'D0M{h[1:]}']}" for h in accepted}, why
    assert {t: k for t, k in acks.items() if k != 1} == {}, why
    assert set(statuses) == {"sent"}, f"{statuses}{why}"
