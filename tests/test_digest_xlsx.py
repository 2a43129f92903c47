"""An export staff can forward as it is (issue 17): the XLSX opens with a Summary whose figures
are the digest's, styled tables with filters and a frozen header, real dates in the alliance's
time zone, questions instead of prompt keys, headers in the reader's language; the CSV opens
in Excel with its accents."""

from __future__ import annotations

import io
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from adapters.console.translate import parse_line
from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from bot.i18n import _, translate
from bot.ports import Attachment
from bot.storage.records import CheckIn
from tests.harnesses.console import ConsoleHarness

ALLIANCE = textwrap.dedent("""\
    alliance: {name: Export Alliance, default_timezone: Europe/Berlin}
    organisations:
      - {slug: leipzig, name: Stadtbibliothek Leipzig, country: DE, timezone: Europe/Berlin}
      - {slug: lyon, name: Bibliothèque de Lyon, country: FR, timezone: Europe/Paris}
      - {slug: sevilla, name: Bibliotecas de Sevilla, country: ES, timezone: Europe/Madrid}
    members:
      - {id: ann, name: Ann, organisation: leipzig, reporting: true}
      - {id: lea, name: Léa, organisation: lyon, reporting: true, locale: fr}
      - {id: pia, name: Pía, organisation: sevilla, reporting: true, locale: es}
      - {id: staff, name: Staff, organisation: leipzig, role: backbone}
      - {id: ines, name: Inès, organisation: lyon, role: backbone, locale: fr}
    measures:
      - key: people_reached
        name: People reached
        unit: people
        target: 30
        targets: {leipzig: 20}
      - key: languages_held
        name: Languages in which digital-skills sessions were held
        unit: languages
        aggregation: latest
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barrier]
        audience: {roles: [member]}
        schedule: "0 9 * * MON"
      - key: figures
        name: Figures
        measures: [people_reached, languages_held]
        audience: {reporting_only: true}
        schedule: "0 10 1 * *"
""")
WEEK = Period.parse_key("2026-W49")
BERLIN = ZoneInfo("Europe/Berlin")


async def export(h: ConsoleHarness, member: str, args: str) -> Attachment:
    event = parse_line(f"/digest export {args}", member, h.clock.now())
    replies = await h.runtime.handle(event)  # type: ignore[arg-type]
    [file] = replies[0].attachments
    return file


async def answered_week_49(h: ConsoleHarness) -> None:
    """Ann and Léa answer week 49's exercise and November's figures; Pía answers nothing."""
    await h.run_until(datetime(2026, 12, 1, 12, tzinfo=UTC), timedelta(hours=3))

    def latest(member: str, words: str) -> str:
        return [r.ref for r in h.inbox(member) if words in r.text][-1]

    await h.reply("ann", latest("ann", "barrier"), "Different opening hours.")
    await h.reply("ann", latest("ann", "people"), "18")
    await h.reply("lea", latest("lea", "personnes"), "25")
    await h.run_until(datetime(2026, 12, 1, 13, tzinfo=UTC))  # figures are asked one by one
    await h.reply("lea", latest("lea", "Languages in which"), "3")


def table(ws: Worksheet, name: str = "") -> list[tuple[Any, ...]]:
    """The rows of one Excel table (its header first), by the table's own range; without a
    name, the sheet's only table."""
    [found] = [ws.tables[name]] if name else list(ws.tables.values())
    return [tuple(c.value for c in row) for row in ws[found.ref]]


async def test_the_summary_holds_the_digests_figures_in_a_styled_workbook(
    tmp_path: Path, db_url: str
) -> None:
    start = datetime(2026, 11, 22, tzinfo=UTC)
    async with ConsoleHarness.started(tmp_path, db_url, start, ALLIANCE) as h:
        await answered_week_49(h)
        file = await export(h, "staff", "2026-W49 xlsx")
        async with h.runtime.db.session() as s:
            digest = await compute_digest(s, WEEK)
            stored = (await s.scalars(select(CheckIn).order_by(CheckIn.id))).all()
        book = openpyxl.load_workbook(io.BytesIO(file.content))
        measure_title = (
            "Languages in which digital-skills sessions were held (languages, latest figure)"
        )
        assert book.sheetnames[:2] == ["Summary", "Check-ins"]
        long_sheet = book.sheetnames[2]
        assert len(long_sheet) == 31 and long_sheet.endswith("…")
        assert book[long_sheet]["A1"].value == measure_title  # the full title inside

        summary = book["Summary"]
        header, *orgs = table(summary, "Table1")
        assert header[:4] == ("Organisation", "Prompts sent", "Answered", "Response rate")
        expected = {
            r.name: (r.delivered, r.answered, r.rate, r.previous_rate) for r in digest.responses
        }
        assert {row[0]: row[1:5] for row in orgs} == expected
        assert expected["Stadtbibliothek Leipzig"][:2] == (3, 2)  # exercise and two figures
        reporting = {r.name: (r.due, r.on_time, r.rate) for r in digest.reporting}
        assert {row[0]: row[5:8] for row in orgs} == reporting
        whole = [c.value for c in summary[len(orgs) + 6]][:4]
        assert whole == [
            "Whole alliance",
            digest.delivered,
            digest.answered,
            digest.answered / digest.delivered,
        ]
        header, *measures = table(summary, "Table2")
        assert header == (
            "Measure",
            "Unit",
            "Periods",
            "Figure",
            "Target",
            "Share of target",
            "Status",
        )
        assert [(row[3], row[4], row[6]) for row in measures] == [
            (ms.total, ms.target, translate(ms.status, "en")) for ms in digest.measures
        ]
        assert measures[1][3:5] == (43, 30) and measures[1][6] == "on track"  # 18 + 25
        assert measures[1][5] == pytest.approx(digest.measures[1].share, rel=1e-14)  # Excel's 15
        # significant digits; every other figure is the digest's exactly

        for ws in book.worksheets:
            assert ws.freeze_panes is not None and ws.tables, ws.title
            for found in ws.tables.values():
                assert found.autoFilter is not None and found.autoFilter.ref == found.ref
                first = ws[found.ref.split(":")[0]]
                assert first.font.bold and first.fill.fgColor.rgb.endswith("1F4E79")
        assert summary.freeze_panes == "A6" and book["Check-ins"].freeze_panes == "A2"
        assert summary.column_dimensions["A"].width >= len("Stadtbibliothek Leipzig")

        header, *checkins = table(book["Check-ins"])
        assert header[3] == "Question" and header[9] == "Answered (Europe/Berlin)"
        by_id = {row[0]: row for row in checkins}
        first = stored[0]
        assert first.prompt_id == "name-a-barrier" and by_id[first.id][3].startswith("Name one")
        answered = first.answered_at.replace(tzinfo=first.answered_at.tzinfo or UTC)
        local = answered.astimezone(BERLIN).replace(tzinfo=None)
        assert by_id[first.id][9] == local and isinstance(local, datetime)
        assert local.hour == answered.astimezone(UTC).hour + 1  # Berlin, in winter
        assert all(isinstance(row[9], datetime) for row in checkins)
        assert "name-a-barrier" not in {row[3] for row in checkins}

        waiting = table(book["Not answered"])
        assert waiting[0] == ("Organisation", "Member", "What")
        assert ("Bibliotecas de Sevilla", "Pía", "exercise") in waiting


async def test_french_staff_get_french_headers_and_the_csv_opens_in_excel(
    tmp_path: Path, sqlite_url: str
) -> None:
    start = datetime(2026, 11, 22, tzinfo=UTC)
    async with ConsoleHarness.started(tmp_path, sqlite_url, start, ALLIANCE) as h:
        await answered_week_49(h)
        file = await export(h, "ines", "2026-W49 xlsx")
        book = openpyxl.load_workbook(io.BytesIO(file.content))
        summary = book[translate(_("Summary"), "fr")]
        assert summary.title == book.sheetnames[0] != "Summary"
        header = table(summary, "Table1")[0]
        assert header[3] == translate(_("Response rate"), "fr") == "Taux de réponse"
        questions = [row[3] for row in table(book[book.sheetnames[1]])[1:]]
        assert any("obstacle" in q for q in questions)  # the question as a French reader reads it
        said = _("Check-ins and figures, {period}", period="2026-W49")
        assert file.title == translate(said, "fr")

        csv = await export(h, "staff", "2026-W49 csv")
        assert csv.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads accents
        text = csv.content.decode("utf-8-sig")
        assert text.startswith("id,organisation,member") and "Léa" in text
        assert "Bibliotecas de Sevilla,Pía,exercise" in text

        refused = await h.command("lea", "digest", "export xlsx")
        assert "équipe" in refused[0] or "backbone" in refused[0]  # members cannot export
