"""Scheduled digests: each run becomes one delivery per staff member or channel.

The content is computed when the delivery is sent (bot/render.py), for the period the schedule
names (“last week”) as read on the run's local date; like campaigns, a cursor per schedule and
zone makes repeated or late fires harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.periods import parse_digest_period
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.scheduling.cron import due_runs, parse_cron
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.records import Delivery
from bot.webhooks import events as webhooks

CATCH_UP = timedelta(hours=6)


async def channel_addresses(
    s: AsyncSession, keys: list[str], platforms: list[str]
) -> list[tuple[int, str]]:
    """(channel id, platform) for each active channel in ``keys`` on a running platform."""
    rows = await s.execute(
        select(m.Channel.id, m.ChannelAddress.platform)
        .join(m.ChannelAddress, m.ChannelAddress.channel_id == m.Channel.id)
        .where(m.Channel.key.in_(keys), m.Channel.active, m.ChannelAddress.platform.in_(platforms))
    )
    return [(cid, platform) for cid, platform in rows.all()]


async def digest_zones(s: AsyncSession, digest: m.DigestSchedule, alliance_zone: str) -> set[str]:
    if digest.timezone:
        return {digest.timezone}
    zones = set(
        (
            await s.scalars(
                select(m.Member.timezone)
                .distinct()
                .where(m.Member.active, m.Member.role.in_(digest.roles or []))
            )
        ).all()
    )
    if digest.channel_keys:
        zones.add(alliance_zone)
    return zones


async def advance_digests(s: AsyncSession, now: datetime, platforms: list[str]) -> int:
    """Create the deliveries of every scheduled digest run due up to ``now``."""
    meta = await s.get(m.Alliance, 1)
    alliance_zone = meta.default_timezone if meta else "UTC"
    created = 0
    for digest in (await s.scalars(select(m.DigestSchedule).where(m.DigestSchedule.active))).all():
        spec = parse_cron(digest.schedule)
        for zone in sorted(await digest_zones(s, digest, alliance_zone)):
            cursor = await s.scalar(
                select(m.DigestCursor).where(
                    m.DigestCursor.digest_id == digest.id, m.DigestCursor.zone == zone
                )
            )
            if cursor is None:
                s.add(m.DigestCursor(digest_id=digest.id, zone=zone, handled_through=now))
                continue
            for fire in due_runs(spec, ZoneInfo(zone), cursor.handled_through, now):
                rows = await _rows(s, digest, zone, fire, now, alliance_zone, platforms)
                created += await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")
                sent = [r for r in rows if r["status"] == DeliveryStatus.PENDING.value]
                if sent:
                    period = sent[0]["period_key"]
                    await webhooks.digest_produced(s, now, digest.key, digest.kind, period)
            cursor.handled_through = now
    return created


async def _rows(
    s: AsyncSession,
    digest: m.DigestSchedule,
    zone: str,
    fire: datetime,
    now: datetime,
    alliance_zone: str,
    platforms: list[str],
) -> list[dict[str, Any]]:
    local = fire.astimezone(ZoneInfo(zone))
    occurrence = local.strftime("%Y-%m-%dT%H:%M")
    period = parse_digest_period(digest.period, local.date())
    late = now - fire > CATCH_UP
    status = DeliveryStatus.MISSED if late else DeliveryStatus.PENDING
    base: dict[str, Any] = {
        "kind": DeliveryKind.DIGEST.value,
        "campaign_id": None,
        "prompt_id": None,
        "measure_id": None,
        "organisation_id": None,
        "period_key": period.key,
        "occurrence": occurrence,
        "scheduled_at": fire,
        "status": status.value,
        "attempts": 0,
        "next_attempt_at": None if late else fire,
        "reminders_sent": 0,
        "created_at": now,
        "payload": {"digest": digest.key, "kind": digest.kind, "period": period.key},
    }
    rows: list[dict[str, Any]] = []
    if digest.roles:
        members = (
            await s.execute(
                select(m.Member.id, m.Member.locale).where(
                    m.Member.active,
                    m.Member.role.in_(digest.roles),
                    *([] if digest.timezone else [m.Member.timezone == zone]),
                )
            )
        ).all()
        rows += [
            {
                **base,
                "dedupe_key": f"d:{digest.id}:{occurrence}:m{mid}",
                "member_id": mid,
                "channel_id": None,
                "locale": locale,
            }
            for mid, locale in members
        ]
    if digest.channel_keys and zone == (digest.timezone or alliance_zone):
        addresses = await channel_addresses(s, digest.channel_keys, platforms)
        rows += [
            {
                **base,
                "dedupe_key": f"d:{digest.id}:{occurrence}:c{cid}:{platform}",
                "member_id": None,
                "channel_id": cid,
                "platform": platform,
                "locale": await _alliance_locale(s),  # a channel reads the alliance's language
            }
            for cid, platform in addresses
        ]
    return rows


async def _alliance_locale(s: AsyncSession) -> str:
    meta = await s.get(m.Alliance, 1)
    return meta.default_locale if meta else "en"
