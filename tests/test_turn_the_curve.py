"""Turn the curve and the steering agenda (issue 16, points 2 and 4), on the console: a
measure behind its target for two months in a row sends each organisation that reports it
the four questions, once per quarter, in its language; their answers sit beside the measure
in the digest and on the agenda, which staff get with one command and members do not."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.storage.insight import CurveExercise
from bot.storage.records import Delivery
from tests.harness import Received
from tests.harnesses.console import ConsoleHarness

START = datetime(2026, 9, 28, 12, 0, tzinfo=UTC)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Curve Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
      - {slug: ngo, name: Readers NGO, country: FR, timezone: UTC}
      - {slug: hub, name: Tech Hub, country: KE, timezone: UTC}
      - {slug: backbone, name: Backbone, kind: backbone, country: BE, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib, reporting: true}
      - {id: remi, name: Rémi, organisation: ngo, reporting: true, locale: fr}
      - {id: kim, name: Kim, organisation: hub}
      - {id: tom, name: Tom, organisation: backbone, role: backbone}
    measures:
      - {key: sessions, name: Digital-skills sessions, unit: sessions, target: 30}
    campaigns:
      - key: figures
        name: Monthly figures
        measures: [sessions]
        audience: {reporting_only: true}
        schedule: "0 10 1 * *"
    """)
FIGURES = {"2026-09": (10, 12), "2026-10": (8, 9), "2026-11": (6, 5)}
"""What Lea and Rémi report each month: 22, 17 and 11 sessions against a target of 30."""


def curve_prompts(h: ConsoleHarness, member: str) -> list[Received]:
    return [r for r in h.inbox(member) if r.is_prompt and ("curve" in r.text or "courbe" in r.text)]


async def report(h: ConsoleHarness, month: str) -> None:
    for member, value in zip(("lea", "remi"), FIGURES[month], strict=True):
        prompt = [r for r in h.inbox(member) if r.is_prompt and "session" in r.text.lower()][-1]
        await h.reply(member, prompt.ref, str(value))


async def exercises(h: ConsoleHarness) -> int:
    async with h.runtime.db.session() as s:
        return int(await s.scalar(select(func.count(CurveExercise.id))) or 0)


async def test_a_measure_behind_twice_asks_its_reporters_once_a_quarter(
    tmp_path: Path, db_url: str
) -> None:
    h = ConsoleHarness(tmp_path, db_url, START, ALLIANCE)
    await h.runtime.start()
    try:
        step = timedelta(hours=12)
        await h.run_until(datetime(2026, 10, 1, 10, 5, tzinfo=UTC), step)
        await report(h, "2026-09")
        await h.run_until(datetime(2026, 11, 1, 10, 5, tzinfo=UTC), step)
        await report(h, "2026-10")
        # October closes for figures a week after it ends: nothing before then.
        await h.run_until(datetime(2026, 11, 7, 12, 0, tzinfo=UTC), step)
        assert await exercises(h) == 0 and curve_prompts(h, "lea") == []
        while not await exercises(h):  # the sweep looks each hour
            await h.run_until(h.clock.now() + timedelta(hours=1))
        assert h.clock.now() <= datetime(2026, 11, 8, 1, 0, tzinfo=UTC)
        assert await exercises(h) == 2  # The Library and Readers NGO; not the hub
        lea, remi = curve_prompts(h, "lea"), curve_prompts(h, "remi")
        assert len(lea) == len(remi) == 1  # one question at a time
        assert lea[0].text.startswith("Turn the curve, 1 of 4")
        assert "Digital-skills sessions: 17 in 2026-10, below the target of 30." in lea[0].text
        assert "3 more questions after this one." in lea[0].text
        assert remi[0].text.startswith("Inverser la courbe, 1 sur 4")
        assert curve_prompts(h, "kim") == [] and curve_prompts(h, "tom") == []
        answers = [
            "Our trainer left in September.",
            "The adult school next door.",
            "Evening sessions for workers.",
            "Recruit two volunteer trainers.",
        ]
        for text in answers:
            await h.reply("lea", curve_prompts(h, "lea")[-1].ref, text)
            await h.runtime.settle()
        assert len(curve_prompts(h, "lea")) == 4
        # November is behind too, but the quarter's exercise was sent: not again.
        await h.run_until(datetime(2026, 12, 1, 10, 5, tzinfo=UTC), step)
        await report(h, "2026-11")
        await h.run_until(datetime(2026, 12, 20, 12, 0, tzinfo=UTC), step)
        assert await exercises(h) == 2
        assert len(curve_prompts(h, "lea")) == 4
        async with h.runtime.db.session() as s:
            curve_rows = await s.scalar(
                select(func.count(Delivery.id)).where(Delivery.prompt_id.like("curve-%"))
            )
        assert curve_rows == 8  # four questions for each of the two reporters

        # The digest shows Lea's answers beside the measure.
        digest = "\n".join(await h.command("tom", "digest", "2026-11"))
        assert "Turn the curve, The Library:" in digest
        assert "The story behind the curve: Our trainer left in September." in digest
        assert digest.index("Digital-skills sessions") < digest.index("Turn the curve")

        # The agenda: its sections in order, as a file too; members are refused.
        await h.command("tom", "decision", "Fund a shared trainer pool with the adult school")
        page = "\n".join(await h.command("tom", "agenda", "2026-11"))
        headings = [line for line in page.splitlines() if line.startswith("## ")]
        assert headings == [
            "## 1. Measures off track",
            "## 2. Quiet organisations",
            "## 3. Common themes",
            "## 4. New and stalled connections",
            "## 5. Starred answers",
            "## 6. Decisions to take",
        ]
        section1 = page.split("## 2.")[0]
        assert (
            "Digital-skills sessions" in section1 and "Recruit two volunteer trainers." in section1
        )
        assert "Fund a shared trainer pool with the adult school" in page.split("## 6.")[1]
        saved = tmp_path / "files" / "agenda-2026-11.md"
        assert saved.read_text("utf-8").startswith("# Steering meeting agenda: Curve Alliance")
        quiet_summer = "\n".join(await h.command("tom", "agenda", "2026-07"))
        assert "No question was sent in this period." in quiet_summer.split("## 3.")[0]
        refused = await h.command("lea", "agenda")
        assert "backbone team" in refused[0]
        assert "backbone team" in (await h.command("lea", "decision", "anything"))[0]
        french = "\n".join(await h.command("remi", "agenda"))
        assert "ordre du jour" in french.lower() or "équipe de coordination" in french
    finally:
        await h.runtime.stop()
