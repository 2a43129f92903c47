"""Recording answers as check-ins: one per member and delivery; a second answer is an edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.answers import Answer, parse_answer
from bot.domain.periods import Period
from bot.domain.prompts import PromptDef
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.i18n import t
from bot.scheduling.reminders import cancel_pending_reminders
from bot.storage import models as m
from bot.storage.records import CheckIn, CheckInRevision, Delivery

OPEN_FOR = timedelta(days=14)


@dataclass(frozen=True)
class Recorded:
    checkin: CheckIn
    edited: bool
    before: str
    message: str
    """What to tell the member, without the answer itself (which goes as quoted text)."""
    answer_display: str


async def delivery_by_ref(s: AsyncSession, platform: str, ref: str) -> Delivery | None:
    """The prompt delivery a platform message belongs to (a reminder leads to its prompt)."""
    row = await s.scalar(
        select(Delivery).where(Delivery.platform == platform, Delivery.message_ref == ref).limit(1)
    )
    if row is None:
        row = await s.scalar(
            select(Delivery)
            .where(
                Delivery.platform == platform,
                Delivery.thread_ref == ref,
                Delivery.kind == DeliveryKind.PROMPT.value,
            )
            .limit(1)
        )
    if row is not None and row.parent_id is not None:
        row = await s.get(Delivery, row.parent_id)
    return row


async def latest_open(
    s: AsyncSession, member: m.Member, now: datetime, platform: str | None = None
) -> Delivery | None:
    """The member's most recent unanswered prompt still open for answers."""
    answered = select(CheckIn.delivery_id).where(
        CheckIn.member_id == member.id, CheckIn.delivery_id.is_not(None)
    )
    query = (
        select(Delivery)
        .where(
            Delivery.member_id == member.id,
            Delivery.kind == DeliveryKind.PROMPT.value,
            Delivery.status == DeliveryStatus.SENT.value,
            Delivery.sent_at >= now - OPEN_FOR,
            Delivery.id.not_in(answered),
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(1)
    )
    if platform is not None:
        query = query.where(Delivery.platform == platform)
    return await s.scalar(query)


async def record_answer(
    s: AsyncSession,
    *,
    delivery: Delivery,
    member: m.Member,
    prompt: PromptDef,
    text: str,
    source: str,
    platform: str,
    now: datetime,
    event_ref: str | None = None,
) -> Recorded:
    """Check ``text`` against the prompt and store it; raises UserError and stores nothing."""
    answer = parse_answer(prompt, text, member.locale)
    return await store_answer(
        s,
        delivery=delivery,
        member=member,
        prompt=prompt,
        answer=answer,
        source=source,
        platform=platform,
        now=now,
        event_ref=event_ref,
    )


async def store_answer(
    s: AsyncSession,
    *,
    delivery: Delivery,
    member: m.Member,
    prompt: PromptDef,
    answer: Answer,
    source: str,
    platform: str,
    now: datetime,
    event_ref: str | None = None,
) -> Recorded:
    existing = await s.scalar(
        select(CheckIn).where(CheckIn.delivery_id == delivery.id, CheckIn.member_id == member.id)
    )
    label = Period.parse_key(delivery.period_key).label(member.locale)
    display = answer.display(prompt, member.locale)
    if existing is not None:
        before = _display(existing, prompt, member.locale)
        s.add(
            CheckInRevision(
                checkin_id=existing.id,
                answer_text=existing.answer_text,
                answer_number=existing.answer_number,
                answer_choice=existing.answer_choice,
                source=existing.source,
                recorded_at=existing.edited_at or existing.answered_at,
                replaced_at=now,
            )
        )
        existing.answer_text = answer.text
        existing.answer_number = answer.number
        existing.answer_choice = answer.choice
        existing.source = source
        existing.edited_at = now
        await s.flush()
        return Recorded(
            existing,
            True,
            before,
            t("updated", member.locale, period=label, before=before),
            display,
        )
    checkin = CheckIn(
        delivery_id=delivery.id,
        member_id=member.id,
        organisation_id=delivery.organisation_id or member.organisation_id,
        prompt_id=prompt.id,
        measure_id=delivery.measure_id,
        period_key=delivery.period_key,
        answer_text=answer.text,
        answer_number=answer.number,
        answer_choice=answer.choice,
        source=source,
        platform=platform,
        answered_at=now,
        event_ref=event_ref,
    )
    s.add(checkin)
    if delivery.member_id == member.id:
        delivery.remind_at = None
    await s.flush()
    await cancel_pending_reminders(s, delivery.id)
    return Recorded(checkin, False, "", t("recorded", member.locale, period=label), display)


def _display(checkin: CheckIn, prompt: PromptDef, locale: str) -> str:
    return Answer(checkin.answer_text, checkin.answer_number, checkin.answer_choice).display(
        prompt, locale
    )
