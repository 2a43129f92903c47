"""Digests staff can act on: figures by hand, chart, exports, sharing, schedules."""

from __future__ import annotations

import io
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
from sqlalchemy import select

from bot.digest.chart import ENGLISH, TARGET_LABEL, build_figure, figure_png
from bot.digest.compute import compute_digest
from bot.digest.model import MeasureFigure
from bot.domain.periods import Period
from bot.storage.records import CheckIn
from tests.conftest import HarnessFactory
from tests.harness import ALLIANCE_TEMPLATE, with_accounts
from tests.harnesses.console import ConsoleHarness

ALLIANCE = textwrap.dedent("""\
    alliance: {name: Rates Alliance, default_timezone: UTC}
    organisations:
      - {slug: a, name: Org A, country: DE, timezone: UTC}
      - {slug: b, name: Org B, country: FR, timezone: UTC}
      - {slug: c, name: Org C, country: ES, timezone: UTC}
    members:
      - {id: a1, name: Ann, organisation: a, reporting: true}
      - {id: a2, name: Abe, organisation: a}
      - {id: b1, name: Bea, organisation: b, reporting: true}
      - {id: c1, name: Cal, organisation: b}
      - {id: d1, name: Dan, organisation: c, reporting: true}
      - {id: staff, name: Staff, organisation: a, role: backbone}
    measures:
      - {key: people_reached, name: People reached, unit: people, target: 30}
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
STEP = timedelta(hours=3)


async def test_change_quiet_organisations_and_on_time_reporting(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(
        tmp_path, db_url, datetime(2026, 11, 22, tzinfo=UTC), ALLIANCE
    ) as h:

        def latest(member: str, words: str) -> str:
            return [r.ref for r in h.inbox(member) if words in r.text][-1]

        await h.run_until(datetime(2026, 11, 23, 12, tzinfo=UTC), STEP)  # week 48
        await h.reply("a1", latest("a1", "barrier"), "Different opening hours.")
        await h.reply("a2", latest("a2", "barrier"), "No shared calendar.")
        await h.run_until(datetime(2026, 12, 1, 12, tzinfo=UTC), STEP)  # week 49
        await h.reply("a1", latest("a1", "barrier"), "Still the opening hours.")
        await h.reply("a1", latest("a1", "people"), "18")  # 1 Dec: on time
        await h.run_until(datetime(2026, 12, 10, 12, tzinfo=UTC), STEP)
        await h.reply("d1", latest("d1", "people"), "9")  # 10 Dec: after the week's grace
        async with h.runtime.db.session() as s:
            digest = await compute_digest(s, Period.parse_key("2026-W49"))
            week_48 = await compute_digest(s, Period.parse_key("2026-W48"))
        [group] = week_48.groups  # the same exercise's answers side by side
        assert group.prompt_id == "name-a-barrier"
        assert [(a.organisation, a.text) for a in group.answers] == [
            ("Org A", "Different opening hours."),
            ("Org A", "No shared calendar."),
        ]
        rows = {r.name: r for r in digest.responses}
        # Week 49: Ann's exercise and figures of two prompts to Org A (Abe's exercise open).
        assert (rows["Org A"].answered, rows["Org A"].delivered) == (2, 3)
        assert (rows["Org A"].previous_answered, rows["Org A"].previous_delivered) == (2, 2)
        assert round(rows["Org A"].change or 0, 3) == -0.333
        assert not rows["Org A"].quiet
        # Org B answered nothing in weeks 48 and 49: quiet.
        org_b = rows["Org B"]
        assert (org_b.answered, org_b.delivered, org_b.quiet) == (0, 3, True)
        assert not rows["Org C"].quiet
        reporting = {r.name: (r.on_time, r.due) for r in digest.reporting}
        assert reporting == {"Org A": (1, 1), "Org B": (0, 1), "Org C": (0, 1)}
        [people] = digest.measures
        assert people.total == 27 and people.target == 30
        assert people.history[-1] == ("2026-11", 27.0)
        text = (await h.command("staff", "digest", "2026-W49"))[0]
        assert "-33 pts" in text and "QUIET" in text
        assert "Org B" in text.split("On-time reporting")[1]


def test_the_chart_is_a_png_with_the_target_line() -> None:
    measure = MeasureFigure(
        "people_reached",
        "People reached",
        "people",
        "sum",
        ("2026-11",),
        27.0,
        30.0,
        (),
        (("2026-10", 20.0), ("2026-11", 27.0)),
        30.0,
    )
    figure = build_figure((measure,), "Test")
    [axes] = figure.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in axes.get_lines()}
    assert lines == {ENGLISH.trajectory: [30.0, 60.0], ENGLISH.cumulative: [20.0, 47.0]}
    assert [bar.get_height() for bar in axes.patches] == [20.0, 27.0]
    flat = build_figure((replace(measure, aggregation="mean"),), "Test")
    [target] = [line for line in flat.axes[0].get_lines() if line.get_label() == TARGET_LABEL]
    assert list(target.get_ydata()) == [30.0, 30.0]
    png = figure_png(figure)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


async def test_export_opens_in_a_spreadsheet_and_its_numbers_match(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(
        tmp_path, db_url, datetime(2026, 11, 30, 23, tzinfo=UTC), ALLIANCE
    ) as h:
        await h.run_until(datetime(2026, 12, 1, 11, tzinfo=UTC))
        for member, figure in (("a1", "18"), ("d1", "9")):
            ref = [r.ref for r in h.inbox(member) if "people" in r.text][-1]
            await h.reply(member, ref, figure)
        event_text = "/digest export 2026-11 xlsx"
        from adapters.console.translate import parse_line

        replies = await h.runtime.handle(parse_line(event_text, "staff", h.clock.now()))  # type: ignore[arg-type]
        [file] = replies[0].attachments
        assert file.filename == "alliance-2026-11.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(file.content))
        assert book.sheetnames == [
            "Summary",
            "Check-ins",
            "People reached (people, sum)",
            "Not answered",
        ]
        sheet = book["People reached (people, sum)"]
        figures = {row[0]: row[2] for row in sheet.iter_rows(min_row=4, values_only=True)}
        assert figures == {"Org A": 18, "Org C": 9}
        checkins = list(book["Check-ins"].iter_rows(min_row=2, values_only=True))
        assert sorted(row[6] for row in checkins) == [9, 18]
        refused = await h.command("a1", "digest", "export")
        assert "backbone team" in refused[0]


async def test_the_alliance_wide_post_holds_only_shareable_answers(
    tmp_path: Path, db_url: str
) -> None:
    async with ConsoleHarness.started(
        tmp_path, db_url, datetime(2026, 11, 23, 8, tzinfo=UTC), ALLIANCE
    ) as h:
        await h.run_until(datetime(2026, 11, 23, 10, tzinfo=UTC))
        thanks = {}
        for member, text in (("a1", "SHARE-ME partner found"), ("a2", "PRIVATE staff trouble")):
            thanks[member] = await h.reply(member, [r.ref for r in h.inbox(member)][-1], text)
        async with h.runtime.db.session() as s:
            ids = {c.answer_text: c.id for c in (await s.scalars(select(CheckIn))).all()}
        # The thank-you offers sharing a written answer, with the command that does it.
        offer = f"(Share with the alliance: share {ids['PRIVATE staff trouble']})"
        assert thanks["a2"][0].endswith(offer)
        assert (
            "no check-in" in (await h.command("a2", "share", str(ids["SHARE-ME partner found"])))[0]
        )
        assert (
            "may now appear"
            in (await h.command("a1", "share", str(ids["SHARE-ME partner found"])))[0]
        )
        post = (await h.command("c1", "highlights", "2026-W48"))[0]
        assert "SHARE-ME" in post
        assert "PRIVATE" not in post
        assert "Abe" not in post and "Ann" not in post  # organisations, not people
        staff = (await h.command("staff", "digest", "2026-W48"))[0]
        assert "PRIVATE" in staff  # staff still see every answer
        await h.run_until(datetime(2026, 12, 1, 12, tzinfo=UTC))
        figure = await h.reply("a1", [r.ref for r in h.inbox("a1") if "people" in r.text][-1], "18")
        assert "Recorded" in figure[0] and "Share" not in figure[0]  # a figure is not shared


async def test_staff_star_answers_to_lead_the_highlights(tmp_path: Path, db_url: str) -> None:
    async with ConsoleHarness.started(
        tmp_path, db_url, datetime(2026, 11, 23, 8, tzinfo=UTC), ALLIANCE
    ) as h:
        await h.run_until(datetime(2026, 11, 23, 10, tzinfo=UTC))
        for member, text in (("a1", "OLDER opening hours"), ("b1", "NEWER no calendar")):
            await h.reply(member, [r.ref for r in h.inbox(member)][-1], text)
        async with h.runtime.db.session() as s:
            ids = {c.answer_text.split()[0]: c.id for c in (await s.scalars(select(CheckIn))).all()}
        older = ids["OLDER"]

        def highlights(text: str) -> str:
            return text.split("Answers side by side")[0].split("answers\n", 1)[1]

        latest = (await h.command("staff", "digest", "2026-W48"))[0]
        assert "Latest answers" in latest and "Starred answers" not in latest
        assert f"#{older} Org A" in latest.split("Answers side by side")[1]  # ids to star by
        refused = await h.command("a1", "star", str(older))
        assert refused == ["Starring answers for the digest is for the backbone team."]
        assert "is starred" in (await h.command("staff", "star", f"#{older}"))[0]
        assert "already starred" in (await h.command("staff", "star", str(older)))[0]
        starred = (await h.command("staff", "digest", "2026-W48"))[0]
        assert "Starred answers" in starred
        assert "OLDER" in highlights(starred) and "NEWER" not in highlights(starred)
        assert f"★ #{older} Org A" in starred
        assert "You have no check-in #999" in (await h.command("staff", "star", "999"))[0]
        assert "e.g. “unstar 12”" in (await h.command("staff", "unstar", "the first"))[0]
        assert "no longer starred" in (await h.command("staff", "unstar", str(older)))[0]
        again = (await h.command("staff", "digest", "2026-W48"))[0]
        assert "Latest answers" in again and "NEWER" in highlights(again)


DIGEST_SCHEDULE = """\
digests:
  - key: monday
    schedule: "0 8 * * MON"
    to: [backbone]
"""


async def test_the_scheduled_digest_arrives_once_at_its_local_time(
    make_harness: HarnessFactory,
) -> None:
    alliance = with_accounts(ALLIANCE_TEMPLATE) + DIGEST_SCHEDULE
    h = await make_harness(datetime(2026, 11, 22, 12, tzinfo=UTC), alliance)
    arrivals = []
    for _ in range(30):
        await h.runtime.advance(h.clock.now() + timedelta(hours=1))
        digests = [r for r in h.inbox("bo") if r.kind == "digest"]
        if len(digests) > len(arrivals):
            arrivals.append(h.clock.now())
    assert arrivals == [datetime(2026, 11, 23, 7, tzinfo=UTC)]  # 08:00 in Berlin
    [digest] = [r for r in h.inbox("bo") if r.kind == "digest"]
    assert "2026-W47" in digest.text
    assert [r for r in h.inbox("ada") if r.kind == "digest"] == []  # admins were not listed
