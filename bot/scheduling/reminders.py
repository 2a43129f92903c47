"""Reminders: members who have not answered after the campaign's delay hear again, at most
the configured number of times, and never once they answered, nor while they are away."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update

from bot.domain.absence import is_away
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery


async def queue_reminders(db: Database, now: datetime) -> int:
    """Queue a reminder for each sent prompt whose member has not answered in time."""
    answered = exists().where(
        CheckIn.delivery_id == Delivery.id, CheckIn.member_id == Delivery.member_id
    )
    async with db.session() as s:
        due = (
            await s.execute(
                select(
                    Delivery,
                    m.Campaign.reminder_after_minutes,
                    m.Campaign.reminder_max,
                    m.Campaign.catch_up_minutes,
                    m.Member.timezone,
                    m.Member.away_from,
                    m.Member.away_until,
                )
                .join(m.Campaign, m.Campaign.id == Delivery.campaign_id)
                .join(m.Member, m.Member.id == Delivery.member_id)
                .where(
                    Delivery.kind == DeliveryKind.PROMPT.value,
                    Delivery.status == DeliveryStatus.SENT.value,
                    Delivery.remind_at.is_not(None),
                    Delivery.remind_at <= now,
                    Delivery.member_id.is_not(None),
                    ~answered,
                )
                .limit(5000)
            )
        ).all()
        rows: list[dict[str, Any]] = []
        for delivery, after, most, catch_up, zone, away_from, away_until in due:
            number = delivery.reminders_sent + 1
            today = now.astimezone(ZoneInfo(zone or "UTC")).date()
            if after is None or number > most or is_away(today, away_from, away_until):
                delivery.remind_at = None  # away: this prompt is not chased, even once back
                continue
            due_at = delivery.remind_at or now
            stale = now - due_at > timedelta(minutes=catch_up)
            delivery.reminders_sent = number
            delivery.remind_at = now + timedelta(minutes=after) if number < most else None
            if stale:  # the bot was down past this reminder's time: the next one will do
                continue
            rows.append(
                {
                    "dedupe_key": f"r:{delivery.id}:{number}",
                    "kind": DeliveryKind.REMINDER.value,
                    "campaign_id": delivery.campaign_id,
                    "prompt_id": delivery.prompt_id,
                    "measure_id": delivery.measure_id,
                    "member_id": delivery.member_id,
                    "organisation_id": delivery.organisation_id,
                    "parent_id": delivery.id,
                    "period_key": delivery.period_key,
                    "occurrence": delivery.occurrence,
                    "locale": delivery.locale,
                    "scheduled_at": now,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "reminders_sent": 0,
                    "payload": {},
                    "platform": delivery.platform,
                    "address": delivery.address,
                    "thread_ref": delivery.thread_ref or delivery.message_ref,
                    "created_at": now,
                }
            )
        return await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")


async def cancel_pending_reminders(s: Any, parent_id: int) -> None:
    await s.execute(
        update(Delivery)
        .where(Delivery.parent_id == parent_id, Delivery.status == DeliveryStatus.PENDING.value)
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
    )
