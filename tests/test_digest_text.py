"""The text digest matches figures worked out by hand; holidays skip the right people."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from bot.storage import models as m
from bot.storage.records import Delivery
from tests.harnesses.console import ConsoleHarness

ALLIANCE = textwrap.dedent("""\
    alliance: {name: Sums Alliance, default_timezone: UTC}
    organisations:
      - {slug: a, name: Org A, country: DE, timezone: UTC}
      - {slug: b, name: Org B, country: FR, timezone: UTC}
    members:
      - {id: a1, name: Ann, organisation: a, reporting: true}
      - {id: a2, name: Abe, organisation: a, reporting: true}
      - {id: b1, name: Bea, organisation: b, reporting: true}
      - {id: c1, name: Cal, organisation: b}
      - {id: staff, name: Staff, organisation: a, role: backbone}
    measures:
      - {key: people_reached, name: People reached, unit: people, target: 30, targets: {a: 20}}
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barrier]
        audience: {organisations: [a, b], roles: [member]}
        schedule: "0 9 * * MON"
      - key: figures
        name: Figures
        measures: [people_reached]
        audience: {reporting_only: true}
        schedule: "0 10 1 * *"
""")


async def test_digest_figures_match_a_hand_count(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(
        tmp_path, db_url, datetime(2026, 11, 30, 0, 0, tzinfo=UTC), ALLIANCE
    ) as h:
        await h.run_until(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))

        def ref(member: str, kind_text: str) -> str:
            return next(r.ref for r in h.inbox(member) if kind_text in r.text)

        await h.reply("a1", ref("a1", "barrier"), "Too many meetings.")
        await h.reply("c1", ref("c1", "barrier"), "No shared calendar.")
        await h.reply("a1", ref("a1", "people"), "10")
        h.clock.advance(timedelta(minutes=5))
        await h.reply("a2", ref("a2", "people"), "14")  # a later figure for Org A wins
        await h.reply("b1", ref("b1", "people"), "5")
        h.clock.advance(timedelta(minutes=5))
        await h.reply("b1", ref("b1", "people"), "7")  # a correction
        async with h.runtime.db.session() as s:
            digest = await compute_digest(s, Period.parse_key("2026-W49"))
        by_org = {r.name: (r.answered, r.delivered) for r in digest.responses}
        assert by_org == {"Org A": (3, 4), "Org B": (2, 3)}
        [people] = digest.measures
        assert people.period_keys == ("2026-11",)
        assert people.total == 21 and people.target == 30
        assert {o.name: (o.value, o.target) for o in people.by_org} == {
            "Org A": (14.0, 20.0),
            "Org B": (7.0, None),
        }
        assert {p.organisation: p.people for p in digest.pending} == {
            "Org A": (("Abe", ""),),  # an exercise owed (a measure's name when figures are)
            "Org B": (("Bea", ""),),
        }
        text = (await h.command("staff", "digest", "2026-W49"))[0]
        assert "5 / 7" in text and "71%" in text
        assert "21 people of a target of 30 (70%)" in text
        assert "Org A: Abe (exercise)" in text
        assert "    Org A: 14 (target 20)" in text and "    Org B: 7\n" in text
        only_b = (await h.command("staff", "digest", "2026-W49 b"))[0]
        assert "Org A" not in only_b and "Bea" in only_b
        assert "(2026-W49), Org B only" in only_b  # its name, not its slug
        before = (await h.command("staff", "digest", "2026-W40"))[0]  # no figure for it yet
        assert "no figure yet (the target is 30 people)" in before, before
        assert "    Org A: no figure yet (target 20)" in before
        assert "no figure people" not in before and "(—)" not in before
        bad = (await h.command("staff", "digest", "the week before christmas"))[0]
        assert "could not read the period" in bad


HOLIDAYS = textwrap.dedent("""\
    alliance: {name: Holiday Alliance}
    organisations:
      - {slug: de, name: DE, country: DE, timezone: Europe/Berlin}
      - {slug: fr, name: FR, country: FR, timezone: Europe/Paris}
    members:
      - {id: dieter, name: Dieter, organisation: de}
      - {id: fleur, name: Fleur, organisation: fr}
    campaigns:
      - key: daily
        name: Daily
        prompts: [name-a-barrier]
        schedule: "0 9 * * *"
        skip_holidays: true
""")


async def test_members_are_skipped_on_their_own_public_holidays(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(
        tmp_path, db_url, datetime(2026, 10, 2, 12, tzinfo=UTC), HOLIDAYS
    ) as h:
        await h.run_until(datetime(2026, 10, 4, 12, tzinfo=UTC))
        async with h.runtime.db.session() as s:
            rows = (
                await s.execute(
                    select(m.Member.handle, Delivery.scheduled_at, Delivery.status).join(
                        m.Member, m.Member.id == Delivery.member_id
                    )
                )
            ).all()
        status = {
            (handle, at.astimezone(ZoneInfo("Europe/Berlin")).date()): st for handle, at, st in rows
        }
        # 3 October is German Unity Day, a working day in France.
        assert status[("dieter", date(2026, 10, 3))] == "skipped"
        assert status[("fleur", date(2026, 10, 3))] == "sent"
        assert status[("dieter", date(2026, 10, 4))] == "sent"
        assert len([r for r in h.inbox("dieter") if r.is_prompt]) == 1
