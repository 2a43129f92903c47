"""``digest export xlsx``: a workbook staff can forward as it is.

A Summary sheet comes first (response and on-time reporting by organisation; measures against
their targets, with a status word), then the check-ins with their questions, one sheet per
measure (its full title in the first cell: Excel cuts sheet names at 31 characters), and who
has not answered. Every table has a bold, filled header row, its own filter (an Excel table)
and columns as wide as their content; the header row stays in view. Times are real dates in
the alliance's time zone (Excel keeps no zone: the header names it). Headers are in the
language of the staff member who asked.

openpyxl is synchronous: :func:`workbook` runs in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.digest.model import Digest, OrgReporting, OrgResponse
from bot.digest.render import aggregation, label
from bot.domain.periods import Period
from bot.i18n import Text, _, number, translate

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from bot.digest.export import ExportData, MeasureRows

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = "1F4E79"
"""Dark blue behind white bold text: legible in print and for colour-blind readers."""
STATUS_FILLS = {"on track": "D6EAF8", "behind": "FBE5D6"}
WIDEST, NARROWEST = 60, 8
"""Column widths, in characters."""
DATE_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT = "0%"
SHEET_NAME = 31
"""Excel's limit for a sheet's name."""


class Book:
    """A workbook being written for one reader: their language, the alliance's zone."""

    def __init__(self, locale: str, zone: str) -> None:
        from openpyxl import Workbook  # imported only when an export is asked for

        self.book = Workbook()
        self.locale = locale
        self.zone = ZoneInfo(zone)
        self.used: set[str] = set()
        self.tables = 0
        self.fresh = True
        """The workbook still has only its first, empty sheet."""

    def words(self, *texts: Text) -> list[str]:
        return [translate(t, self.locale) for t in texts]

    def sheet(self, name: Text | str) -> Worksheet:
        title = sheet_title(translate(name, self.locale), self.used)
        if self.fresh:
            self.fresh = False
            first = self.book.active
            assert first is not None
            first.title = title
            return first
        return self.book.create_sheet(title)

    def local(self, moment: object) -> object:
        """A time as the alliance's clocks showed it (no zone: Excel keeps none)."""
        if not isinstance(moment, datetime):
            return moment
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(self.zone).replace(tzinfo=None)

    def table(
        self,
        ws: Worksheet,
        top: int,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        formats: dict[int, str] | None = None,
        empty: str = "",
    ) -> int:
        """``headers`` styled at row ``top`` and ``rows`` under them, as an Excel table with
        its filter; returns the table's last row."""
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.table import Table, TableStyleInfo

        for column, header in enumerate(headers, start=1):
            cell = ws.cell(top, column, header)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        shown = list(rows) or [[empty]]  # an Excel table holds at least one row
        for offset, row in enumerate(shown, start=1):
            for column, value in enumerate(row, start=1):
                cell = ws.cell(top + offset, column, value)
                if formats and column in formats:
                    cell.number_format = formats[column]
        last = top + len(shown)
        self.tables += 1
        ref = f"A{top}:{get_column_letter(len(headers))}{last}"
        table = Table(displayName=f"Table{self.tables}", ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)
        ws.add_table(table)
        return last

    def save(self) -> bytes:
        for ws in self.book.worksheets:
            fit_columns(ws)
        buffer = io.BytesIO()
        self.book.save(buffer)
        return buffer.getvalue()


def sheet_title(name: str, used: set[str]) -> str:
    """A sheet name Excel accepts (31 characters, none of ``[]:*?/\\``), unique in the
    workbook whatever the case; a name cut short ends with “…”."""
    clean = "".join(c for c in name if c not in "[]:*?/\\").strip().strip("'") or "Sheet"
    base = clean if len(clean) <= SHEET_NAME else clean[: SHEET_NAME - 1].rstrip() + "…"
    title, n = base, 2
    while title.casefold() in used:
        suffix = f" ({n})"
        title = (
            (base[: SHEET_NAME - len(suffix) - 1].rstrip() + "…" + suffix)
            if len(base) + len(suffix) > SHEET_NAME
            else base + suffix
        )
        n += 1
    used.add(title.casefold())
    return title


def fit_columns(ws: Worksheet) -> None:
    """Each column as wide as the longest value of its tables (titles and notes above them
    overflow into the empty cells beside them), within limits."""
    from openpyxl.utils import get_column_letter, range_boundaries

    widths: dict[int, int] = {}
    for found in ws.tables.values():
        first_column, first_row, last_column, last_row = range_boundaries(found.ref)
        rows = ws.iter_rows(first_row, last_row + 1, first_column, last_column)  # + its total
        for cell in (c for row in rows for c in row if c.value is not None):
            if isinstance(cell.value, datetime):
                size = 16
            elif isinstance(cell.value, float):
                size = len(f"{cell.value:.2f}")
            else:
                size = max(len(line) for line in str(cell.value).splitlines() or [""])
            widths[cell.column] = max(widths.get(cell.column, 0), size)
    for column, size in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(
            max(size + 2, NARROWEST), WIDEST
        )


def workbook(data: ExportData, period: Period, locale: str = "en") -> bytes:
    book = Book(locale, data.zone)
    if data.digest is not None:
        summary(book, data.digest, period)
    checkins(book, data)
    for measure in data.measures:
        measure_sheet(book, measure)
    not_answered(book, data)
    return book.save()


def summary(book: Book, digest: Digest, period: Period) -> None:
    from openpyxl.styles import Font, PatternFill

    ws = book.sheet(_("Summary"))
    title = _(
        "{alliance}: summary of {period}",
        alliance=digest.alliance,
        period=period.label(book.locale),
    )
    ws["A1"] = translate(title, book.locale)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = translate(
        _(
            "Times are in {zone}. Response rate: prompts answered ÷ prompts sent. On time: "
            "figures given within 7 days after their period ends.",
            zone=digest.timezone,
        ),
        book.locale,
    )
    ws["A2"].font = Font(italic=True, color="595959")
    ws["A4"] = translate(_("Response by organisation"), book.locale)
    ws["A4"].font = Font(bold=True, size=13)
    headers = book.words(
        _("Organisation"),
        _("Prompts sent"),
        _("Answered"),
        _("Response rate"),
        _("Previous period's rate"),
        _("Figures due"),
        _("On time"),
        _("On-time rate"),
    )
    rows = organisation_rows(digest.responses, digest.reporting)
    no_data = translate(_("No data yet"), book.locale)
    percents = {4: PERCENT, 5: PERCENT, 8: PERCENT}
    last = book.table(ws, 5, headers, rows, percents, empty=no_data)
    total = [translate(_("Whole alliance"), book.locale), *alliance_row(digest)]
    for column, value in enumerate(total, start=1):
        cell = ws.cell(last + 1, column, value)
        cell.font = Font(bold=True)
        if column in percents:
            cell.number_format = PERCENT
    ws.freeze_panes = "A6"
    top = last + 3
    ws.cell(top, 1, translate(_("Measures against targets"), book.locale))
    ws.cell(top, 1).font = Font(bold=True, size=13)
    headers = book.words(
        _("Measure"),
        _("Unit"),
        _("Periods"),
        _("Figure"),
        _("Target"),
        _("Share of target"),
        _("Status"),
    )
    measures = [
        [
            f"{label(ms.name, digest.names, book.locale)} "
            f"({aggregation(ms.aggregation, book.locale)})",
            ms.unit,
            ", ".join(ms.period_keys),
            ms.total,
            ms.target,
            ms.share,
            translate(ms.status, book.locale),
        ]
        for ms in digest.measures
    ]
    book.table(ws, top + 1, headers, measures, {6: PERCENT}, empty=no_data)
    for row, ms in enumerate(digest.measures, start=top + 2):
        fill = STATUS_FILLS.get(ms.status.msgid)
        if fill:
            ws.cell(row, 7).fill = PatternFill("solid", fgColor=fill)


def organisation_rows(
    responses: Sequence[OrgResponse], reporting: Sequence[OrgReporting]
) -> list[list[object]]:
    """One row per organisation: its response (the digest's figures) and on-time reporting."""
    on_time = {r.name: r for r in reporting}
    names = sorted({r.name for r in responses} | set(on_time), key=str.casefold)
    by_name = {r.name: r for r in responses}
    rows: list[list[object]] = []
    for name in names:
        response, owed = by_name.get(name), on_time.get(name)
        rows.append(
            [
                name,
                response.delivered if response else None,
                response.answered if response else None,
                response.rate if response else None,
                response.previous_rate if response else None,
                owed.due if owed else None,
                owed.on_time if owed else None,
                owed.rate if owed else None,
            ]
        )
    return rows


def alliance_row(digest: Digest) -> list[object]:
    before = sum(r.previous_delivered for r in digest.responses)
    answered_before = sum(r.previous_answered for r in digest.responses)
    due = sum(r.due for r in digest.reporting)
    on_time = sum(r.on_time for r in digest.reporting)
    return [
        digest.delivered,
        digest.answered,
        digest.answered / digest.delivered if digest.delivered else None,
        answered_before / before if before else None,
        due,
        on_time,
        on_time / due if due else None,
    ]


def checkins(book: Book, data: ExportData) -> None:
    from openpyxl.styles import Alignment

    ws = book.sheet(_("Check-ins"))
    zone = str(book.zone)
    headers = book.words(
        _("#"),
        _("Organisation"),
        _("Member"),
        _("Question"),
        _("Period"),
        _("Answer"),
        _("Figure"),
        _("Choice"),
        _("Source"),
        _("Answered ({zone})", zone=zone),
        _("Edited ({zone})", zone=zone),
    )
    rows = []
    for index, row in enumerate(data.checkins):
        ident, organisation, member, prompt, key, text, figure, chosen, source, at, edited = row
        question = data.questions[index] if index < len(data.questions) else prompt
        choice = data.choices[index] if index < len(data.choices) else chosen
        rows.append(
            [
                ident,
                organisation,
                member,
                question,
                key,
                text,
                figure,
                choice,
                source,
                book.local(at),
                book.local(edited),
            ]
        )
    book.table(ws, 1, headers, rows, {10: DATE_FORMAT, 11: DATE_FORMAT})
    for cells in ws.iter_rows(min_row=2, min_col=4, max_col=6):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def measure_sheet(book: Book, measure: MeasureRows) -> None:
    from openpyxl.styles import Font

    ws = book.sheet(measure.title)
    ws["A1"] = measure.title
    ws["A1"].font = Font(bold=True, size=13)
    if measure.target is not None:
        said: Text = _(
            "Alliance target per period: {target} {unit}",
            target=number(measure.target, book.locale),
            unit=measure.unit,
        )
    else:
        said = _("No alliance-wide target")
    ws["A2"] = translate(said, book.locale)
    headers = book.words(_("Organisation"), _("Period"), _("Figure"), _("Organisation target"))
    book.table(ws, 3, headers, measure.rows, empty=translate(_("No data yet"), book.locale))
    ws.freeze_panes = "A4"


def not_answered(book: Book, data: ExportData) -> None:
    ws = book.sheet(_("Not answered"))
    headers = book.words(_("Organisation"), _("Member"), _("What"))
    rows: list[list[Any]] = [
        [
            org,
            person,
            translate(
                _("figures: {measure}", measure=measure) if measure else _("exercise"), book.locale
            ),
        ]
        for org, person, measure in data.pending
    ]
    book.table(ws, 1, headers, rows)
    ws.freeze_panes = "A2"
