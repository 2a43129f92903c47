"""Away (issue 15): a member who says they are away, or whom the alliance file marks away, gets
no prompt and no reminder, and the digest counts them neither answered nor missing; an
organisation whose reporting members are all away has its measure asked of its backup reporter.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.digest.compute import compute_digest
from bot.domain.absence import parse_until
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.storage import models as m
from bot.storage.records import CheckIn
from tests.harnesses.console import ConsoleHarness

SUNDAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
NEXT_MONDAY = MONDAY + timedelta(days=7)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Away Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
      - {slug: ngo, name: The NGO, country: FR, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib, reporting: true}
      - {id: max, name: Max, organisation: lib, backup_reporter: true}
      - {id: noe, name: Noe, organisation: ngo, reporting: true}
      - {id: ines, name: Ines, organisation: ngo, away: {from: 2026-11-30, until: 2026-12-04}}
      - {id: boss, name: Boss, organisation: ngo, role: backbone}
      - {id: sam, name: Sam, organisation: lib, role: backbone, timezone: Australia/Sydney}
    measures:
      - {key: people_reached, name: People reached, unit: people, period: week}
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barrier]
        audience: {organisations: [lib, ngo], roles: [member]}
        schedule: "0 9 * * MON"
        reminders: {after: 3h, max: 2}
      - key: figures
        name: Figures
        measures: [people_reached]
        audience: {reporting_only: true}
        schedule: "0 10 * * MON"
""")


def kinds(h: ConsoleHarness, member: str) -> list[str]:
    return [r.kind for r in h.inbox(member)]


async def away_until(h: ConsoleHarness, member: str) -> tuple[date | None, date | None]:
    async with h.runtime.db.session() as s:
        row = (
            await s.execute(
                select(m.Member.away_from, m.Member.away_until).where(m.Member.handle == member)
            )
        ).one()
    return row[0], row[1]


BAD_ABSENCES = textwrap.dedent("""\
    alliance: {name: Away Alliance}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
    members:
      - {id: a, name: A, organisation: lib, away: {from: 2026-12-04, until: 2026-11-30}}
      - {id: b, name: B, organisation: lib, away: {from: "2026-02-30", until: 2026-03-02}}
      - {id: c, name: C, organisation: lib, away: {from: next week, until: 2026-03-02}}
      - {id: d, name: D, organisation: lib, away: {until: 2026-03-02}}
      - {id: e, name: E, organisation: lib, away: {from: 2026-12-04, until: 2026-12-04}}
""")


def test_the_alliance_file_s_absences_are_real_days_in_order(tmp_path: Path) -> None:
    path = tmp_path / "alliance.yaml"
    path.write_text(BAD_ABSENCES, encoding="utf-8")
    _, problems = validate_file(path)
    assert [(p.line, p.field, p.message) for p in problems] == [
        (
            5,
            "members[0].away",
            "the absence ends (2026-11-30) before it starts (2026-12-04); `until` is the last "
            "day away, on or after `from`.",
        ),
        (
            6,
            "members[1].away.from",
            "“2026-02-30” is not a real date; check the month and the day.",
        ),
        (
            7,
            "members[2].away.from",
            "“next week” is not a day; write it as YYYY-MM-DD, like 2026-12-20.",
        ),
        (8, "members[3].away.from", "this field is required; add it."),
    ]
    path.write_text(
        BAD_ABSENCES.replace(
            "from: 2026-12-04, until: 2026-11-30", "from: 2026-02-30, until: 2026-03-02"
        )
    )
    _, problems = validate_file(path)
    assert [(p.line, p.message) for p in problems] == [
        (5, "this value cannot be read (day is out of range for month); correct it.")
    ]


@pytest.mark.parametrize(
    ("typed", "wrong"),
    [
        ("until 2026-02-30", "is not a real date"),
        ("2026-11-01", "Sunday 1 November 2026 is in the past"),
        ("2028-01-01", "more than a year ahead; the furthest I take is Monday 29 November 2027"),
        ("60w", "longer than a year"),
        ("0d", "no time at all"),
        ("next tuesday", "could not read “next tuesday”"),
    ],
)
async def test_bad_dates_are_refused_with_how_to_write_them(
    tmp_path: Path, db_url: str, typed: str, wrong: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        [said] = await h.command("lea", "away", typed)
        assert wrong in said and "away until 2026-12-24" in said and "away 2w" in said, said
        assert await away_until(h, "lea") == (None, None)
        [back] = await h.command("lea", "back", "to basics")
        assert "send just “back”" in back


@pytest.mark.parametrize(
    ("typed", "until"),
    [
        ("until 2026-12-24", date(2026, 12, 24)),
        ("2026-12-24", date(2026, 12, 24)),
        ("Until  2026-12-05", date(2026, 12, 5)),
        ("2w", date(2026, 12, 18)),
        ("10d", date(2026, 12, 14)),
        ("1 week", date(2026, 12, 11)),
        ("1d", date(2026, 12, 5)),
    ],
)
def test_ways_to_say_until_when(typed: str, until: date) -> None:
    assert parse_until(typed, date(2026, 12, 5)) == until


def test_a_year_ahead_is_the_furthest() -> None:
    assert parse_until("2027-12-05", date(2026, 12, 5)) == date(2027, 12, 5)
    with pytest.raises(UserError):
        parse_until("2027-12-06", date(2026, 12, 5))


async def test_away_says_until_when_and_back_ends_it(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        assert "not marked away" in (await h.command("lea", "away"))[0]
        [said] = await h.command("lea", "away", "2w")
        assert "away until Saturday 12 December 2026 (included)" in said, said
        assert await away_until(h, "lea") == (date(2026, 11, 29), date(2026, 12, 12))
        [state] = await h.command("lea", "away")
        assert "You are away until Saturday 12 December 2026" in state, state
        assert await h.command("lea", "back") == ["Welcome back: prompts resume with the next run."]
        assert await away_until(h, "lea") == (None, None)
        assert "not marked away, so nothing changed" in (await h.command("lea", "back"))[0]


async def test_the_file_s_absences_load_and_a_reload_keeps_a_typed_one(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        assert await away_until(h, "ines") == (date(2026, 11, 30), date(2026, 12, 4))
        [state] = await h.command("ines", "away")
        assert "You will be away from Monday 30 November 2026 until Friday 4 December" in state
        await h.command("lea", "away", "10d")
        alliance, problems = validate_file(h.file)
        assert alliance is not None, problems
        again = await load_alliance(h.runtime.db, alliance, h.file.read_text())
        assert again.unchanged, again.lines()
        assert await away_until(h, "lea") == (date(2026, 11, 29), date(2026, 12, 8))
        ines = alliance.members[3]
        assert ines.away is not None
        later = ines.away.model_copy(update={"until": date(2026, 12, 6)})
        alliance.members[3] = ines.model_copy(update={"away": later})
        changed = await load_alliance(h.runtime.db, alliance, "changed")
        assert changed.lines() == ["Changed 1 member: ines"]
        assert await away_until(h, "ines") == (date(2026, 11, 30), date(2026, 12, 6))
        async with h.runtime.db.session() as s:
            backups = await s.scalars(select(m.Member.handle).where(m.Member.backup_reporter))
            assert backups.all() == ["max"]


async def test_away_then_a_run_skips_them_and_back_brings_the_next_run(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        await h.command("lea", "away", "2w")
        await h.run_until(MONDAY + timedelta(hours=10, minutes=30))
        assert kinds(h, "noe") == ["prompt"]  # the figures wait for her exercise's answer
        await h.command("noe", "away", "1d")  # no reminder follows, and the figures are off
        await h.run_until(MONDAY + timedelta(hours=18))
        assert kinds(h, "lea") == []  # no prompt, no reminder, no figures
        assert kinds(h, "noe") == ["prompt"]
        # Max let the exercise go through its two reminders; then the figures came, with no
        # reminders of their own (they follow the conversation).
        assert kinds(h, "max") == ["prompt", "reminder", "reminder", "prompt"]
        async with h.runtime.db.session() as s:
            digest = await compute_digest(s, Period.parse_key("2026-W49"))
        by_org = {r.name: (r.answered, r.delivered) for r in digest.responses}
        assert by_org == {"The Library": (0, 2), "The NGO": (0, 1)}  # not Lea, not Ines
        waiting = {p.organisation: set(p.people) for p in digest.pending}
        assert waiting["The Library"] == {("Max", ""), ("Max", "People reached")}  # "": exercise
        text = (await h.command("boss", "digest", "2026-W49"))[0]
        assert "Lea" not in text and "Ines" not in text, text

        assert await h.command("lea", "back") == ["Welcome back: prompts resume with the next run."]
        await h.run_until(NEXT_MONDAY + timedelta(hours=10, minutes=30))
        assert kinds(h, "lea") == ["prompt"]  # the exercise; her figures follow her answer
        assert "Thank you" in (await h.say("lea", "No shared calendar."))[0]
        await h.runtime.advance(h.clock.now())
        assert kinds(h, "lea") == ["prompt", "prompt"]
        assert kinds(h, "max")[4:] == ["prompt"]  # the exercise only: Lea reports again


async def test_an_away_reporter_s_measure_goes_to_the_backup_reporter(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        await h.command("lea", "away", "until 2026-12-01")
        await h.command("noe", "away", "2026-12-01")  # The NGO names no backup reporter
        await h.run_until(MONDAY + timedelta(hours=10, minutes=30))
        assert "Thank you" in (await h.say("max", "Too few rooms."))[0]  # then the figures
        await h.runtime.advance(h.clock.now())
        [figures] = [r for r in h.inbox("max") if "people" in r.text.lower()]
        assert kinds(h, "noe") == kinds(h, "lea") == kinds(h, "boss") == kinds(h, "ines") == []
        assert "Thank you" in (await h.reply("max", figures.ref, "12"))[0]
        async with h.runtime.db.session() as s:
            [(handle, value)] = (
                await s.execute(
                    select(m.Member.handle, CheckIn.answer_number)
                    .join(m.Member, m.Member.id == CheckIn.member_id)
                    .where(CheckIn.measure_id.is_not(None))
                )
            ).all()
        assert (handle, value) == ("max", 12)


async def test_the_file_s_absence_skips_its_days(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        await h.run_until(MONDAY + timedelta(hours=9, minutes=30))
        assert kinds(h, "ines") == []
        await h.run_until(NEXT_MONDAY + timedelta(hours=9, minutes=30))
        assert kinds(h, "ines") == ["prompt"]


async def test_today_is_the_member_s_own(tmp_path: Path, db_url: str) -> None:
    """At 14:00 UTC on Sunday it is already Monday 01:00 in Sydney."""
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        h.clock.advance(timedelta(hours=2))
        [said] = await h.command("sam", "away", "1d")
        assert "away until Monday 30 November 2026" in said, said
        [lea] = await h.command("lea", "away", "1d")
        assert "away until Sunday 29 November 2026" in lea, lea
        assert await away_until(h, "sam") == (date(2026, 11, 30), date(2026, 11, 30))


async def test_a_backup_reporter_in_a_zone_of_their_own_is_asked(
    tmp_path: Path, db_url: str
) -> None:
    """The campaign fires in each audience member's zone; a backup reporter who lives in no
    such zone gets the figures at the campaign's hour in theirs."""
    tokyo = ALLIANCE.replace(
        "{id: max, name: Max, organisation: lib, backup_reporter: true}",
        "{id: max, name: Max, organisation: lib, backup_reporter: true, timezone: Asia/Tokyo}",
    )
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, tokyo) as h:
        await h.command("lea", "away", "until 2026-12-02")
        await h.run_until(MONDAY + timedelta(hours=5))
        asked = [r.text.lower() for r in h.inbox("max") if r.is_prompt]
        # Tokyo's Monday 09:00 and 10:00 are 00:00 and 01:00 in UTC: the exercise came first,
        # and the figures wait for its answer (one question at a time).
        assert len(asked) == 1 and "people" not in asked[0], asked
        assert "Thank you" in (await h.say("max", "No shared calendar."))[0]
        await h.runtime.advance(h.clock.now())
        [figures] = [r for r in h.inbox("max") if "people" in r.text.lower()]
        assert "Thank you" in (await h.reply("max", figures.ref, "7"))[0]


async def test_an_absence_to_come_starts_on_its_day(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(tmp_path, db_url, SUNDAY, ALLIANCE) as h:
        [said] = await h.command("noe", "away", "from 2026-12-07 until 2026-12-11")
        assert "away from Monday 7 December 2026 until Friday 11 December 2026" in said, said
        assert await away_until(h, "noe") == (date(2026, 12, 7), date(2026, 12, 11))
        [state] = await h.command("noe", "away")
        assert "You will be away from Monday 7 December 2026" in state, state
        await h.run_until(MONDAY + timedelta(hours=10, minutes=30))
        assert kinds(h, "noe") == ["prompt"]  # this week she is here
        await h.run_until(NEXT_MONDAY - timedelta(hours=1))
        before = len(kinds(h, "noe"))
        await h.run_until(NEXT_MONDAY + timedelta(hours=18))
        assert kinds(h, "noe")[before:] == []  # next week: no question and no reminder
        [bad] = await h.command("noe", "away", "from monday until 2026-12-11")
        assert "“monday” is not a first day" in bad and "away from 2026-12-20" in bad, bad
