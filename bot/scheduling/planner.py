"""Turning campaign schedules into deliveries: the fan-out, the catch-up and the reminders.

The database is the source of truth. For each campaign and time zone a cursor says how far runs
were handled; a tick handles every run between the cursor and now, so a fire that comes twice,
late, or after a restart creates each delivery once (its dedupe key is unique). Runs older than
the campaign's catch-up window are recorded as missed, never silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import and_, or_, select

from bot.domain.periods import Period
from bot.domain.values import DeliveryKind, DeliveryStatus, PeriodKind, PromptOrder
from bot.ports import Clock
from bot.scheduling.cron import CronSpec, parse_cron
from bot.scheduling.digests import advance_digests, channel_addresses
from bot.scheduling.reminders import queue_reminders
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.records import Delivery

log = logging.getLogger(__name__)
MAX_RUNS_PER_TICK = 400


def due_runs(
    spec: CronSpec, tz: ZoneInfo, since: datetime, now: datetime, limit: int = MAX_RUNS_PER_TICK
) -> list[datetime]:
    """The fire times after ``since`` up to ``now`` (at most ``limit``; the rest next tick)."""
    runs: list[datetime] = []
    fire = spec.next_after(since, tz)
    while fire is not None and fire <= now and len(runs) < limit:
        runs.append(fire)
        fire = spec.next_after(fire, tz)
    if len(runs) >= limit:
        log.warning(
            "more than %d runs of %s were due at once; the rest follow next tick",
            limit,
            spec.expression,
        )
    return runs


def _caught_up(spec: CronSpec, tz: ZoneInfo, handled: datetime, now: datetime) -> bool:
    fire = spec.next_after(handled, tz)
    return fire is None or fire > now


class Planner:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        platforms: Sequence[str],
        on_work: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.platforms = list(platforms)
        self.on_work = on_work
        self._holidays: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    # --- zones --------------------------------------------------------------------------------

    async def zones(self, campaign: m.Campaign) -> set[str]:
        """The time zones a campaign fires in: its own, or each audience member's."""
        if campaign.timezone:
            return {campaign.timezone}
        async with self.db.session() as s:
            zones = set(
                (
                    await s.scalars(
                        select(m.Member.timezone).distinct().where(*self.audience(campaign))
                    )
                ).all()
            )
            if campaign.channel_keys:
                zones.add(await self._alliance_zone(s))
        return zones

    async def _alliance_zone(self, s: Any) -> str:
        meta = await s.get(m.Alliance, 1)
        return meta.default_timezone if meta else "UTC"

    def audience(self, campaign: m.Campaign) -> list[Any]:
        aud = campaign.audience or {}
        clauses: list[Any] = [m.Member.active]
        narrowing: list[Any] = []
        if aud.get("organisations"):
            narrowing.append(
                m.Member.organisation_id.in_(
                    select(m.Organisation.id).where(m.Organisation.slug.in_(aud["organisations"]))
                )
            )
        if aud.get("roles"):
            narrowing.append(m.Member.role.in_(aud["roles"]))
        named = aud.get("members") or []
        if narrowing and named:
            clauses.append(or_(and_(*narrowing), m.Member.handle.in_(named)))
        elif narrowing:
            clauses.extend(narrowing)
        elif named:
            clauses.append(m.Member.handle.in_(named))
        if aud.get("reporting_only"):
            clauses.append(m.Member.reporting)
        return clauses

    # --- ticks --------------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> int:
        """Handle every campaign run due up to ``now``; returns the deliveries created."""
        now = now or self.clock.now()
        async with self.db.session() as s:
            campaigns = (await s.scalars(select(m.Campaign).where(m.Campaign.active))).all()
        created = 0
        for campaign in campaigns:
            for zone in sorted(await self.zones(campaign)):
                created += await self.advance(campaign, zone, now)
        created += await self.remind(now)
        async with self._lock, self.db.session() as s:
            created += await advance_digests(s, now, self.platforms)
        if created:
            self.on_work()
        return created

    async def advance(self, campaign: m.Campaign, zone: str, now: datetime) -> int:
        """Handle one campaign's runs in one zone up to ``now``; never two passes at once."""
        async with self._lock:
            return await self._advance(campaign, zone, now)

    async def _advance(self, campaign: m.Campaign, zone: str, now: datetime) -> int:
        spec = parse_cron(campaign.schedule)
        tz = ZoneInfo(zone)
        created = 0
        async with self.db.session() as s:
            cursor = await s.scalar(
                select(m.CampaignCursor).where(
                    m.CampaignCursor.campaign_id == campaign.id, m.CampaignCursor.zone == zone
                )
            )
            if cursor is None:
                s.add(
                    m.CampaignCursor(
                        campaign_id=campaign.id, zone=zone, handled_through=now, runs=0
                    )
                )
                return 0
            for fire in due_runs(spec, tz, cursor.handled_through, now):
                if not campaign.paused:
                    created += await self._fan_out(s, campaign, zone, fire, now, cursor.runs)
                    cursor.runs += 1
                cursor.handled_through = fire
            if _caught_up(spec, tz, cursor.handled_through, now):
                cursor.handled_through = now
        return created

    async def _fan_out(
        self,
        s: Any,
        campaign: m.Campaign,
        zone: str,
        fire: datetime,
        now: datetime,
        run_number: int,
    ) -> int:
        local = fire.astimezone(ZoneInfo(zone))
        day = local.date()
        if (campaign.starts_on and day < campaign.starts_on) or (
            campaign.ends_on and day > campaign.ends_on
        ):
            return 0
        prompt_ids = self._prompts_for_run(campaign, run_number)
        if not prompt_ids:
            return 0
        measures = {
            ms.prompt_id: ms
            for ms in (
                await s.scalars(select(m.Measure).where(m.Measure.prompt_id.in_(prompt_ids)))
            ).all()
        }
        late = now - fire > timedelta(minutes=campaign.catch_up_minutes)
        occurrence = local.strftime("%Y-%m-%dT%H:%M")
        base = {
            "kind": DeliveryKind.PROMPT.value,
            "campaign_id": campaign.id,
            "occurrence": occurrence,
            "scheduled_at": fire,
            "attempts": 0,
            "reminders_sent": 0,
            "payload": {},
            "created_at": now,
        }
        member_zone = None if campaign.timezone else zone
        rows: list[dict[str, Any]] = []
        members = (
            await s.execute(
                select(
                    m.Member.id,
                    m.Member.organisation_id,
                    m.Member.locale,
                    m.Member.reporting,
                    m.Organisation.country,
                )
                .join(m.Organisation, m.Organisation.id == m.Member.organisation_id)
                .where(
                    *self.audience(campaign),
                    *([m.Member.timezone == member_zone] if member_zone else []),
                )
                .order_by(m.Member.id)
            )
        ).all()
        for prompt_id in prompt_ids:
            measure = measures.get(prompt_id)
            period = self._period(campaign, day, measure)
            for member_id, org_id, locale, reporting, country in members:
                if measure is not None and not reporting:
                    continue
                status = (
                    DeliveryStatus.MISSED
                    if late
                    else DeliveryStatus.SKIPPED
                    if campaign.skip_holidays and self._is_holiday(country, day)
                    else DeliveryStatus.PENDING
                )
                rows.append(
                    {
                        **base,
                        "dedupe_key": f"p:{campaign.id}:{occurrence}:{prompt_id}:m{member_id}",
                        "prompt_id": prompt_id,
                        "measure_id": measure.id if measure else None,
                        "member_id": member_id,
                        "organisation_id": org_id,
                        "period_key": period.key,
                        "locale": locale,
                        "status": status.value,
                        "next_attempt_at": fire if status is DeliveryStatus.PENDING else None,
                    }
                )
            if measure is None:
                rows += await self._channel_rows(
                    s, campaign, zone, base, prompt_id, period, late, occurrence, fire
                )
        return await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")

    async def _channel_rows(
        self,
        s: Any,
        campaign: m.Campaign,
        zone: str,
        base: dict[str, Any],
        prompt_id: str,
        period: Period,
        late: bool,
        occurrence: str,
        fire: datetime,
    ) -> list[dict[str, Any]]:
        if not campaign.channel_keys:
            return []
        if zone != (campaign.timezone or await self._alliance_zone(s)):
            return []
        meta = await s.get(m.Alliance, 1)
        addresses = await channel_addresses(s, campaign.channel_keys, self.platforms)
        status = DeliveryStatus.MISSED if late else DeliveryStatus.PENDING
        return [
            {
                **base,
                "dedupe_key": f"p:{campaign.id}:{occurrence}:{prompt_id}:c{cid}:{plat}",
                "prompt_id": prompt_id,
                "measure_id": None,
                "member_id": None,
                "channel_id": cid,
                "organisation_id": None,
                "period_key": period.key,
                "locale": meta.default_locale if meta else "en",
                "status": status.value,
                "platform": plat,
                "next_attempt_at": None if late else fire,
            }
            for cid, plat in addresses
        ]

    @staticmethod
    def _prompts_for_run(campaign: m.Campaign, run_number: int) -> list[str]:
        prompts = list(campaign.prompt_ids)
        if not prompts:
            return []
        order = PromptOrder(campaign.prompt_order)
        if order is PromptOrder.ALL:
            return prompts
        if order is PromptOrder.ROTATE:
            return [prompts[run_number % len(prompts)]]
        return [prompts[run_number]] if run_number < len(prompts) else []

    @staticmethod
    def _period(campaign: m.Campaign, day: date, measure: m.Measure | None) -> Period:
        if measure is None:
            return Period.containing(day, PeriodKind.WEEK)
        period = Period.containing(day, PeriodKind(measure.period))
        return period.previous() if campaign.measure_period == "previous" else period

    def _is_holiday(self, country: str, day: date) -> bool:
        if country not in self._holidays:
            try:
                self._holidays[country] = holidays.country_holidays(country)
            except NotImplementedError:
                self._holidays[country] = {}
        return day in self._holidays[country]

    # --- reminders ----------------------------------------------------------------------------

    async def remind(self, now: datetime) -> int:
        """Queue a reminder for each sent prompt whose member has not answered in time."""
        async with self._lock:
            return await queue_reminders(self.db, now)
