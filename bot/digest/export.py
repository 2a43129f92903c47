"""``digest export``: the period's check-ins and measure figures as CSV or XLSX."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.compute import pending_people
from bot.digest.measures import latest_figures, measure_periods
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.i18n import _
from bot.ports import Attachment
from bot.storage import models as m
from bot.storage.records import CheckIn

CHECKIN_COLUMNS = (
    "id",
    "organisation",
    "member",
    "prompt",
    "period",
    "answer",
    "number",
    "choice",
    "source",
    "answered_at",
    "edited_at",
)


PENDING_COLUMNS = ("not answered: organisation", "member", "what")


@dataclass(frozen=True)
class ExportData:
    checkins: list[tuple[object, ...]]
    measures: dict[str, list[tuple[object, ...]]]
    """measure name -> rows of (organisation, period, figure, target)"""
    pending: list[tuple[str, str, str]] = field(default_factory=list)
    """(organisation, member, what they have not answered): the digest's full list."""


async def collect(s: AsyncSession, period: Period, start: datetime, end: datetime) -> ExportData:
    """Exercise answers given in the period, and measure figures *for* its measure periods."""
    measures = (
        await s.scalars(select(m.Measure).where(m.Measure.active).order_by(m.Measure.key))
    ).all()
    keys = {
        measure.id: [p.key for p in measure_periods(period, PeriodKind(measure.period))]
        for measure in measures
    }
    about_period = or_(
        and_(CheckIn.measure_id.is_(None), CheckIn.answered_at >= start, CheckIn.answered_at < end),
        *[and_(CheckIn.measure_id == mid, CheckIn.period_key.in_(k)) for mid, k in keys.items()],
    )
    query = checkin_query().where(about_period).order_by(CheckIn.answered_at, CheckIn.id)
    checkins = [tuple(row) for row in (await s.execute(query)).all()]
    figures_by_measure: dict[str, list[tuple[object, ...]]] = {}
    for measure in measures:
        figures = latest_figures(measure.id, keys[measure.id])
        rows = (
            await s.execute(
                select(
                    m.Organisation.name,
                    figures.c.period_key,
                    figures.c.answer_number,
                    m.MeasureTarget.target,
                )
                .join(m.Organisation, m.Organisation.id == figures.c.organisation_id)
                .outerjoin(
                    m.MeasureTarget,
                    (m.MeasureTarget.measure_id == measure.id)
                    & (m.MeasureTarget.organisation_id == m.Organisation.id),
                )
                .order_by(m.Organisation.name, figures.c.period_key)
            )
        ).all()
        figures_by_measure[measure.name] = [tuple(r) for r in rows]
    pending = [
        (p.organisation, person, f"figures: {measure}" if measure else "exercise")
        for p in await pending_people(s, start, end, [])
        for person, measure in p.people
    ]
    return ExportData(checkins, figures_by_measure, pending)


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
    return value


def checkin_query() -> Any:
    """The columns of CHECKIN_COLUMNS, for any selection of check-ins."""
    return (
        select(
            CheckIn.id,
            m.Organisation.name,
            m.Member.display_name,
            CheckIn.prompt_id,
            CheckIn.period_key,
            CheckIn.answer_text,
            CheckIn.answer_number,
            CheckIn.answer_choice,
            CheckIn.source,
            CheckIn.answered_at,
            CheckIn.edited_at,
        )
        .join(m.Member, m.Member.id == CheckIn.member_id)
        .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
    )


def checkins_csv(rows: list[tuple[object, ...]], out: io.StringIO | None = None) -> io.StringIO:
    out = out or io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CHECKIN_COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out


def to_csv(data: ExportData) -> bytes:
    out = checkins_csv(data.checkins)
    writer = csv.writer(out)
    writer.writerow([])
    writer.writerow(["measure", "organisation", "period", "figure", "organisation target"])
    for name, rows in data.measures.items():
        writer.writerows([name, *row] for row in rows)
    writer.writerow([])
    writer.writerow(PENDING_COLUMNS)
    writer.writerows(data.pending)
    return out.getvalue().encode("utf-8")


def to_xlsx(data: ExportData) -> bytes:
    from openpyxl import Workbook  # an optional extra: imported only when asked for

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Check-ins"
    sheet.append(list(CHECKIN_COLUMNS))
    for row in data.checkins:
        sheet.append([_cell(v) for v in row])
    used: set[str] = {"Check-ins", "Not answered"}
    for name, rows in data.measures.items():
        title = _sheet_title(name, used)
        measure_sheet = book.create_sheet(title)
        measure_sheet.append(["organisation", "period", "figure", "organisation target"])
        for row in rows:
            measure_sheet.append(list(row))
    waiting = book.create_sheet("Not answered")
    waiting.append(list(PENDING_COLUMNS))
    for row in data.pending:
        waiting.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(name: str, used: set[str]) -> str:
    base = "".join(c for c in name if c not in "[]:*?/\\")[:28] or "Measure"
    title, n = base, 2
    while title in used:
        title, n = f"{base[:25]} {n}", n + 1
    used.add(title)
    return title


async def export(
    s: AsyncSession, period: Period, start: datetime, end: datetime, fmt: str
) -> Attachment:
    if fmt not in ("csv", "xlsx"):
        raise UserError(_("I can export as csv or xlsx, not “{format}”.", format=fmt))
    data = await collect(s, period, start, end)
    if fmt == "csv":
        return Attachment(
            f"alliance-{period.key}.csv",
            to_csv(data),
            "text/csv",
            f"Check-ins and figures, {period.key}",
        )
    content = await asyncio.to_thread(to_xlsx, data)
    return Attachment(
        f"alliance-{period.key}.xlsx",
        content,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"Check-ins and figures, {period.key}",
    )
