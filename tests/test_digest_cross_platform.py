"""One organisation across platforms: members on two Slack workspaces and on Matrix.

Lyon's people are on workspace T0AAA, workspace T0BBB and a Matrix homeserver; Quito's
reporter is on T0BBB. The digest counts each organisation once (one response row, one on-time
figure), a measure figure is the organisation's whichever platform it came from (the latest
correction wins), and “Not answered yet” names people wherever they are.

The runtime runs with a recording port per platform (the console's port under Slack's and
Matrix's names), so what is checked is the core's counting, on both databases.
"""

from __future__ import annotations

import itertools
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.port import ConsoleMessage, ConsolePort
from adapters.registry import id_checks
from bot.clock import ManualClock
from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from bot.events import CommandReceived, InboundEvent, MessageReceived
from bot.runtime import Runtime

ALLIANCE = textwrap.dedent("""\
    alliance: {name: Cross Alliance, default_timezone: UTC}
    organisations:
      - {slug: lyon, name: Lyon, country: FR, timezone: UTC}
      - {slug: quito, name: Quito, country: EC, timezone: UTC}
      - {slug: hub, name: Hub, country: DE, timezone: UTC}
    members:
      - {id: ana, name: Ana, organisation: lyon, reporting: true, slack: "T0AAA:U0ANA"}
      - {id: ben, name: Ben, organisation: lyon, slack: "T0BBB:U0BEN"}
      - {id: cleo, name: Cleo, organisation: lyon, reporting: true, matrix: "@cleo:partner.example"}
      - {id: dan, name: Dan, organisation: lyon, matrix: "@dan:matrix.other.org:8448"}
      - {id: eva, name: Eva, organisation: quito, reporting: true, slack: "T0BBB:U0EVA"}
      - {id: bo, name: Bo, organisation: hub, role: backbone, matrix: "@bo:partner.example"}
    measures:
      - {key: people_reached, name: People reached, unit: people, target: 100}
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barrier]
        audience: {roles: [member]}
        schedule: "0 9 * * MON"
      - key: figures
        name: Figures
        measures: [people_reached]
        audience: {reporting_only: true}
        schedule: "0 10 1 * *"
""")
ACCOUNTS = {
    "ana": ("slack", "T0AAA:U0ANA"),
    "ben": ("slack", "T0BBB:U0BEN"),
    "cleo": ("matrix", "@cleo:partner.example"),
    "dan": ("matrix", "@dan:matrix.other.org:8448"),
    "eva": ("slack", "T0BBB:U0EVA"),
    "bo": ("matrix", "@bo:partner.example"),
}


class Recorder(ConsolePort):
    """The console's recording port, standing in for another platform."""

    def __init__(self, platform: str, clock: ManualClock, files: Path) -> None:
        super().__init__(clock, files_dir=files)
        self.platform = platform


class CrossPlatform:
    def __init__(self, tmp_path: Path, url: str) -> None:
        self.clock = ManualClock(datetime(2026, 11, 29, 12, tzinfo=UTC))
        file = tmp_path / "alliance.yaml"
        file.write_text(ALLIANCE, encoding="utf-8")
        self.ports = {p: Recorder(p, self.clock, tmp_path / "files") for p in ("slack", "matrix")}
        self.runtime = Runtime(url, self.clock, self.ports, alliance_file=file, real_time=False)
        self.runtime.platforms = id_checks()
        self.ids = itertools.count(1)

    def prompts(self, member: str, words: str) -> list[ConsoleMessage]:
        platform, account = ACCOUNTS[member]
        return [
            m
            for m in self.ports[platform].messages
            if m.to == account and m.kind == "prompt" and words in m.text
        ]

    async def handle(self, member: str, event: InboundEvent) -> list[str]:
        await self.runtime.handle(event)
        assert await self.runtime.replies_sent(event)
        platform, _ = ACCOUNTS[member]
        return [m.text for m in self.ports[platform].messages if m.answering == event.event_id]

    async def answer(self, member: str, words: str, text: str) -> list[str]:
        platform, account = ACCOUNTS[member]
        [prompt] = self.prompts(member, words)
        event = MessageReceived(
            platform=platform,
            event_id=f"e{next(self.ids)}",
            sender=account,
            at=self.clock.now(),
            channel=f"dm-{member}",
            is_direct=True,
            text=text,
            thread=prompt.ref,
        )
        return await self.handle(member, event)

    async def command(self, member: str, name: str, args: str = "") -> list[str]:
        platform, account = ACCOUNTS[member]
        event = CommandReceived(
            platform=platform,
            event_id=f"e{next(self.ids)}",
            sender=account,
            at=self.clock.now(),
            channel=f"dm-{member}",
            is_direct=True,
            name=name,
            args=args,
        )
        return await self.handle(member, event)

    async def until(self, moment: datetime) -> None:
        while self.clock.now() + timedelta(hours=1) <= moment:
            await self.runtime.advance(self.clock.now() + timedelta(hours=1))
        await self.runtime.advance(moment)


async def test_an_organisation_on_two_workspaces_and_matrix_counts_once(
    tmp_path: Path, db_url: str
) -> None:
    bot = CrossPlatform(tmp_path, db_url)
    async with bot.runtime:
        await bot.until(datetime(2026, 11, 30, 10, tzinfo=UTC))  # Monday's prompt, everyone
        for member in ("ana", "ben", "cleo", "dan", "eva"):
            assert len(bot.prompts(member, "")) == 1, member  # on its own platform
        assert bot.prompts("bo", "") == []  # staff are not in the audience
        await bot.answer("ana", "", "No shared calendar.")  # Slack, workspace A
        await bot.answer("ben", "", "Different opening hours.")  # Slack, workspace B
        await bot.answer("cleo", "", "Nobody owns the partnership.")  # Matrix
        await bot.answer("eva", "", "Too little time.")  # Slack, workspace B
        await bot.until(datetime(2026, 12, 1, 11, tzinfo=UTC))  # November's figures asked
        await bot.answer("ana", "people", "12")  # Lyon's figure from Slack...
        bot.clock.advance(timedelta(hours=2))
        await bot.answer("cleo", "people", "20")  # ...corrected from Matrix: the latest wins
        await bot.answer("eva", "people", "5")
        async with bot.runtime.db.session() as s:
            november = await compute_digest(s, Period.parse_key("2026-11"))
            week = await compute_digest(s, Period.parse_key("2026-W49"))
        staff_text = "\n".join(await bot.command("bo", "digest", "2026-11"))

    rows = {r.name: (r.answered, r.delivered) for r in november.responses}
    assert rows == {"Lyon": (3, 4), "Quito": (1, 1)}  # one row per organisation
    [measure] = november.measures
    figures = {o.name: o.value for o in measure.by_org}
    assert figures["Lyon"] == 20 and figures["Quito"] == 5 and measure.total == 25
    assert {r.name: (r.on_time, r.due) for r in november.reporting} == {
        "Lyon": (1, 1),
        "Quito": (1, 1),
    }
    pending = {p.organisation: dict(p.people) for p in november.pending}
    assert set(pending) == {"Lyon"} and set(pending["Lyon"]) == {"Dan"}  # on Matrix
    assert {r.name for r in week.responses} <= {"Lyon", "Quito"}
    assert "Lyon" in staff_text and "Dan" in staff_text and "25" in staff_text
