"""A member's own page: the questions waiting for them and their recent answers, in their
language. Only ever their own: nothing here reads another member's rows.

An adapter draws it where its platform has a place for it (an app's home tab); this module only
reads and words the data (``Directory.home``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.checkins import OPEN_FOR
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.i18n import pick
from bot.render import prompt_message
from bot.scheduling.cron import parse_cron
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, Delivery

RECENT = 5
"""Answers shown: the latest few (``mydata`` lists them all)."""
WAITING = 10


@dataclass(frozen=True)
class Waiting:
    """A question waiting for the member's answer, as they read it."""

    question: str
    """In the member's language, placeholders filled in."""
    answer_kind: str
    """text, number, choice or scale."""
    choices: tuple[str, ...]
    """The options' labels, in the member's language (choice and scale questions)."""
    campaign: str
    asked_at: datetime | None
    """When it was asked; None while it waits its turn (asked after the ones before it)."""
    platform: str | None = None
    message_ref: str | None = None
    """The message that asked it, on ``platform``: answering or skipping acts on it."""


@dataclass(frozen=True)
class Answered:
    """One of the member's own recent answers."""

    question: str
    answer: str
    period: str
    """The period it counts for, in the member's words (“semaine 48, 2026”)."""
    answered_on: date
    """The day it was answered, in the member's time zone."""


@dataclass(frozen=True)
class HomeView:
    """A member's own page: their waiting questions, recent answers and next sends."""

    name: str
    organisation: str
    recent: tuple[Answered, ...] = ()
    upcoming: tuple[tuple[str, datetime], ...] = ()
    """(campaign name, next local send time)"""
    waiting: tuple[Waiting, ...] = ()
    locale: str = "en"


async def member_home(
    s: AsyncSession, member: m.Member, now: datetime, planner: Planner
) -> HomeView:
    org = await s.get(m.Organisation, member.organisation_id)
    organisation = org.name if org else ""
    locale = member.locale or "en"
    prompts = await load_prompts(s)
    units = dict((await s.execute(select(m.Measure.id, m.Measure.unit))).all())
    campaigns = {c.id: c for c in (await s.scalars(select(m.Campaign))).all()}

    def question(
        prompt_id: str, period_key: str, measure_id: int | None
    ) -> tuple[str, tuple[str, ...]]:
        prompt = prompts.get(prompt_id)
        if prompt is None:
            return prompt_id, ()
        text, choices = prompt_message(
            prompt,
            locale=locale,
            organisation=organisation,
            period_key=period_key,
            unit=units.get(measure_id or -1, ""),
        )
        return text, tuple(c.label for c in choices)

    answered = select(CheckIn.delivery_id).where(
        CheckIn.member_id == member.id, CheckIn.delivery_id.is_not(None)
    )
    rows = (
        await s.scalars(
            select(Delivery)
            .where(
                Delivery.member_id == member.id,
                Delivery.kind == DeliveryKind.PROMPT.value,
                Delivery.id.not_in(answered),
                (
                    (Delivery.status == DeliveryStatus.SENT.value)
                    & (Delivery.sent_at >= now - OPEN_FOR)
                )
                | (Delivery.status == DeliveryStatus.QUEUED.value),
            )
            .order_by(Delivery.sent_at.is_(None), Delivery.sent_at, Delivery.scheduled_at)
            .limit(WAITING)
        )
    ).all()
    zone = _zone(member.timezone)
    waiting = []
    for row in rows:
        text, choices = question(row.prompt_id or "", row.period_key, row.measure_id)
        prompt = prompts.get(row.prompt_id or "")
        campaign = campaigns.get(row.campaign_id or -1)
        asked = row.status == DeliveryStatus.SENT.value
        waiting.append(
            Waiting(
                question=text,
                answer_kind=str(prompt.answer) if prompt else "text",
                choices=choices,
                campaign=_name(campaign, locale) if campaign else "",
                asked_at=row.sent_at.astimezone(zone) if asked and row.sent_at else None,
                platform=row.platform if asked else None,
                message_ref=row.message_ref if asked else None,
            )
        )
    recent = tuple(
        Answered(
            question=question(c.prompt_id, c.period_key, c.measure_id)[0],
            answer=c.answer_text,
            period=_period(c.period_key, locale),
            answered_on=c.answered_at.astimezone(zone).date(),
        )
        for c in (
            await s.scalars(
                select(CheckIn)
                .where(CheckIn.member_id == member.id)
                .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
                .limit(RECENT)
            )
        ).all()
    )
    upcoming = []
    for campaign in campaigns.values():
        if not campaign.active or campaign.paused:
            continue
        audience = await s.scalar(
            select(m.Member.id).where(m.Member.id == member.id, *planner.audience(campaign))
        )
        if audience is None:
            continue
        where = _zone(campaign.timezone or member.timezone)
        fire = parse_cron(campaign.schedule).next_after(now, where)
        if fire is not None:
            upcoming.append((_name(campaign, locale), fire.astimezone(where)))
    return HomeView(
        name=member.display_name,
        organisation=organisation,
        recent=recent,
        upcoming=tuple(sorted(upcoming, key=lambda item: item[1])),
        waiting=tuple(waiting),
        locale=locale,
    )


def _name(campaign: m.Campaign, locale: str) -> str:
    """The campaign's name in the member's language (the alliance file may translate it)."""
    return pick({**(campaign.names or {}), "en": campaign.name}, locale)


def _period(key: str, locale: str) -> str:
    try:
        return Period.parse_key(key).label(locale)
    except (UserError, ValueError):
        return key


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")
