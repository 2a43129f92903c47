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

from bot.digest.compute import compute_digest, pending_people
from bot.digest.measures import latest_figures, measure_periods
from bot.digest.model import Digest
from bot.digest.render import aggregation
from bot.digest.xlsx import XLSX, workbook
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.i18n import _, pick, translate
from bot.ports import Attachment
from bot.storage import models as m
from bot.storage.prompts import load_prompts
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
class MeasureRows:
    name: str
    title: str
    """The measure's full label in the reader's language, with its unit and aggregation."""
    unit: str
    target: float | None
    """The alliance's target for one period."""
    rows: list[tuple[object, ...]]
    """(organisation, period, figure, organisation target)"""


@dataclass(frozen=True)
class ExportData:
    checkins: list[tuple[object, ...]]
    measures: list[MeasureRows]
    pending: list[tuple[str, str, str]] = field(default_factory=list)
    """(organisation, member, the measure whose figures they owe; "" for an exercise): the
    digest's full list."""
    digest: Digest | None = None
    """The digest of the same period: the summary's figures are its figures."""
    questions: list[str] = field(default_factory=list)
    """Each check-in's question, as its member read it (in the reader's language)."""
    choices: list[str] = field(default_factory=list)
    """Each check-in's chosen option, by its label."""
    zone: str = "UTC"
    """The alliance's time zone: the export's times are written in it."""


async def collect(
    s: AsyncSession, period: Period, start: datetime, end: datetime, locale: str = "en"
) -> ExportData:
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
    by_measure = []
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
        name = pick({**measure.names, "en": measure.name}, locale)
        title = f"{name} ({measure.unit}, {aggregation(measure.aggregation, locale)})"
        by_measure.append(
            MeasureRows(measure.name, title, measure.unit, measure.target, [tuple(r) for r in rows])
        )
    pending = [
        (p.organisation, person, measure)
        for p in await pending_people(s, start, end, [])
        for person, measure in p.people
    ]
    digest = await compute_digest(s, period)
    questions, choices = await _questions(s, checkins, locale)
    return ExportData(checkins, by_measure, pending, digest, questions, choices, digest.timezone)


async def _questions(
    s: AsyncSession, checkins: list[tuple[object, ...]], locale: str
) -> tuple[list[str], list[str]]:
    """Each check-in's question and chosen option, as the member read them, in ``locale``."""
    prompts = await load_prompts(s)
    units = dict((await s.execute(select(m.Measure.prompt_id, m.Measure.unit))).all())
    questions, choices = [], []
    for row in checkins:
        prompt_id, organisation, key, choice = str(row[3]), str(row[1]), str(row[4]), row[7]
        prompt = prompts.get(prompt_id)
        if prompt is None:
            questions.append(prompt_id)
            choices.append(str(choice or ""))
            continue
        period = Period.parse_key(key).label(locale) if key else ""
        unit = pick(prompt.unit, locale) if prompt.unit else units.get(prompt_id, "")
        questions.append(prompt.render(locale, organisation=organisation, period=period, unit=unit))
        choices.append(prompt.choice_label(str(choice), locale) if choice else "")
    return questions, choices


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
    """Check-ins, figures and who has not answered; UTF-8 with a byte-order mark, so that
    Excel reads accented names right."""
    out = checkins_csv(data.checkins)
    writer = csv.writer(out)
    writer.writerow([])
    writer.writerow(["measure", "organisation", "period", "figure", "organisation target"])
    for measure in data.measures:
        writer.writerows([measure.name, *row] for row in measure.rows)
    writer.writerow([])
    writer.writerow(PENDING_COLUMNS)
    writer.writerows(
        (org, person, f"figures: {measure}" if measure else "exercise")
        for org, person, measure in data.pending
    )
    return out.getvalue().encode("utf-8-sig")


async def export(
    s: AsyncSession,
    period: Period,
    start: datetime,
    end: datetime,
    fmt: str,
    locale: str = "en",
) -> Attachment:
    if fmt not in ("csv", "xlsx"):
        raise UserError(_("I can export as csv or xlsx, not “{format}”.", format=fmt))
    data = await collect(s, period, start, end, locale)
    title = translate(_("Check-ins and figures, {period}", period=period.key), locale)
    if fmt == "csv":
        return Attachment(f"alliance-{period.key}.csv", to_csv(data), "text/csv", title)
    content = await asyncio.to_thread(workbook, data, period, locale)
    return Attachment(f"alliance-{period.key}.xlsx", content, XLSX, title)
