"""Turning campaign schedules into deliveries: the fan-out, the catch-up and the reminders.

The database is the source of truth. For each campaign and time zone a cursor says how far runs
were handled; a tick handles every run between the cursor and now, so a fire that comes twice,
late, or after a restart creates each delivery once (its dedupe key is unique). Runs older than
the campaign's catch-up window are recorded as missed, never silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import queued_in, take_turns
from bot.domain.absence import is_away
from bot.domain.periods import Period
from bot.domain.values import DeliveryKind, DeliveryStatus, PeriodKind, PromptOrder
from bot.ports import Clock
from bot.scheduling.absence import backup_zones, stand_ins
from bot.scheduling.cron import caught_up, due_runs, parse_cron
from bot.scheduling.digests import advance_digests, channel_addresses
from bot.scheduling.reminders import queue_reminders
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.records import Delivery

log = logging.getLogger(__name__)
CHUNK_ROWS = 2000
"""Deliveries written per transaction: a fan-out holds no lock for long, whatever its size."""
CHUNK_PAUSE_SHARE = 0.25
"""On SQLite, the gap after a chunk, as a share of the time the chunk held the write lock (at
most 100 ms): a writer waiting for the lock polls, more slowly the longer it has waited, so the
next chunk must not take the lock back at once. The planner keeps about 80% of the lock."""


@dataclass(frozen=True)
class _Cursor:
    """A campaign cursor as read: how far its runs were handled, and how many were fanned out."""

    id: int
    handled_through: datetime
    runs: int


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _roster() -> Select[*tuple[Any, ...]]:
    """(id, organisation id, locale, reporting, country, away from, away until) of members."""
    return select(
        m.Member.id,
        m.Member.organisation_id,
        m.Member.locale,
        m.Member.reporting,
        m.Organisation.country,
        m.Member.away_from,
        m.Member.away_until,
    ).join(m.Organisation, m.Organisation.id == m.Member.organisation_id)


Sweep = Callable[[AsyncSession, datetime], Awaitable[int]]


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
        self.chunk_rows = CHUNK_ROWS
        self.chunk_pause_share = CHUNK_PAUSE_SHARE
        self._lock = asyncio.Lock()
        """Held for one write at a time: a chunk of a fan-out, the reminders, the digests."""
        self._passes: dict[tuple[int, str], asyncio.Lock] = {}
        """One per campaign and zone: never two passes over the same runs at once."""
        self.sweeps: list[Sweep] = []
        """Other work each tick may find due (follow-ups, turn-the-curve exercises)."""

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
            measured = await s.scalar(
                select(m.Measure.id).where(m.Measure.prompt_id.in_(campaign.prompt_ids)).limit(1)
            )
            if measured is not None:  # a backup reporter may live in a zone of their own
                zones |= {
                    str(z) for z in (await s.scalars(backup_zones(self.audience(campaign)))).all()
                }
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
        async with self._lock, self.db.session() as s:  # turns that ran out: the next question
            created += await take_turns(s, now)
        async with self._lock, self.db.session() as s:
            created += await advance_digests(s, now, self.platforms)
        for sweep in self.sweeps:
            async with self._lock, self.db.session() as s:
                created += await sweep(s, now)
        if created:
            self.on_work()
        return created

    async def advance(self, campaign: m.Campaign, zone: str, now: datetime) -> int:
        """Handle one campaign's runs in one zone up to ``now``; never two passes at once."""
        async with self._passes.setdefault((campaign.id, zone), asyncio.Lock()):
            return await self._advance(campaign, zone, now)

    async def _advance(self, campaign: m.Campaign, zone: str, now: datetime) -> int:
        spec = parse_cron(campaign.schedule)
        tz = ZoneInfo(zone)
        async with self.db.session() as s:
            row = await s.scalar(
                select(m.CampaignCursor).where(
                    m.CampaignCursor.campaign_id == campaign.id, m.CampaignCursor.zone == zone
                )
            )
            if row is None:
                s.add(
                    m.CampaignCursor(
                        campaign_id=campaign.id, zone=zone, handled_through=now, runs=0
                    )
                )
                return 0
            saved = cursor = _Cursor(row.id, row.handled_through, row.runs)
        created = 0
        for fire in due_runs(spec, tz, cursor.handled_through, now):
            if campaign.paused:
                cursor = replace(cursor, handled_through=fire)
                continue
            rows = await self._run_rows(campaign, zone, fire, now, cursor.runs)
            saved = cursor = _Cursor(cursor.id, fire, cursor.runs + 1)
            created += await self._write(rows, cursor, now)
        if caught_up(spec, tz, cursor.handled_through, now):
            cursor = replace(cursor, handled_through=now)
        if cursor != saved:
            await self._write((), cursor, now)
        return created

    async def _write(self, rows: Iterable[dict[str, Any]], cursor: _Cursor, now: datetime) -> int:
        """Insert one run's rows a chunk per short transaction, then move its cursor with the
        last chunk. Between chunks other writers (answers) get the lock, SQLite's included; a
        crash part way leaves the cursor behind, so the run is handled again and its unique
        dedupe keys let only the missing rows in."""
        created = 0
        chunks = _chunks(rows, self.chunk_rows)
        chunk = next(chunks, [])
        while True:
            following = next(chunks, None)  # made before the locks are taken
            async with self._lock, self.db.session() as s:
                began = time.perf_counter()
                created += await insert_ignoring_duplicates(s, Delivery, chunk, "dedupe_key")
                await queued_in(s, chunk, now)
                if following is None:
                    await s.execute(
                        update(m.CampaignCursor)
                        .where(m.CampaignCursor.id == cursor.id)
                        .values(handled_through=cursor.handled_through, runs=cursor.runs)
                    )
            if following is None:
                return created
            held = time.perf_counter() - began  # SQLite's waiting writers poll: leave a gap
            await asyncio.sleep(min(0.1, held * self.chunk_pause_share) if self.db.is_sqlite else 0)
            chunk = following

    async def _run_rows(
        self, campaign: m.Campaign, zone: str, fire: datetime, now: datetime, run_number: int
    ) -> Iterator[dict[str, Any]]:
        """One run's deliveries in one zone: what they need is read in a transaction that
        writes nothing; the rows are made as the writer takes them, a chunk at a time."""
        day = fire.astimezone(ZoneInfo(zone)).date()
        if (campaign.starts_on and day < campaign.starts_on) or (
            campaign.ends_on and day > campaign.ends_on
        ):
            return iter(())
        prompt_ids = self._prompts_for_run(campaign, run_number)
        if not prompt_ids:
            return iter(())
        async with self.db.session() as s:
            measures = {
                ms.prompt_id: ms
                for ms in (
                    await s.scalars(select(m.Measure).where(m.Measure.prompt_id.in_(prompt_ids)))
                ).all()
            }
            in_zone = [] if campaign.timezone else [m.Member.timezone == zone]
            members = await self._members(s, campaign, in_zone)
            backups = (
                await stand_ins(s, _roster(), self.audience(campaign), in_zone, day)
                if measures
                else []
            )
            channels = await self._channels(s, campaign, zone)
        return self._rows(
            campaign, zone, fire, now, prompt_ids, measures, (members, backups), channels
        )

    async def _members(self, s: Any, campaign: m.Campaign, in_zone: list[Any]) -> list[Any]:
        """The audience as :func:`_roster` reads it, in parts so other tasks run meanwhile."""
        result = await s.stream(
            _roster().where(*self.audience(campaign), *in_zone).order_by(m.Member.id)
        )
        members: list[Any] = []
        async for part in result.partitions(self.chunk_rows):
            members.extend(part)
        return members

    async def _channels(
        self, s: Any, campaign: m.Campaign, zone: str
    ) -> tuple[list[tuple[int, str]], str]:
        """The (channel, platform) pairs a run in ``zone`` posts to, and their locale."""
        if not campaign.channel_keys or zone != (campaign.timezone or await self._alliance_zone(s)):
            return [], "en"
        meta = await s.get(m.Alliance, 1)
        addresses = await channel_addresses(s, campaign.channel_keys, self.platforms)
        return addresses, meta.default_locale if meta else "en"

    def _rows(
        self,
        campaign: m.Campaign,
        zone: str,
        fire: datetime,
        now: datetime,
        prompt_ids: list[str],
        measures: dict[str, m.Measure],
        people: tuple[list[Any], list[Any]],
        channels: tuple[list[tuple[int, str]], str],
    ) -> Iterator[dict[str, Any]]:
        """Decide each delivery of a run: for each prompt, one a member, then one a channel.
        ``people`` are the audience and the backup reporters standing in for absent ones; a
        member away today, or on a public holiday the campaign skips, gets a SKIPPED row."""
        members, backups = people
        local = fire.astimezone(ZoneInfo(zone))
        day = local.date()
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
        off: dict[str, bool] = {}  # country -> a public holiday there today
        # one by one: asked in its turn (bot.conversation); all at once: sent as soon as due
        ask = DeliveryStatus.QUEUED if campaign.one_by_one else DeliveryStatus.PENDING
        for prompt_id in prompt_ids:
            measure = measures.get(prompt_id)
            period_key = self._period(campaign, day, measure).key
            asked = members if measure is None else [*(r for r in members if r[3]), *backups]
            for member_id, org_id, locale, _, country, away_from, away_until in asked:
                if campaign.skip_holidays and country not in off:
                    off[country] = self._is_holiday(country, day)
                status = (
                    DeliveryStatus.MISSED
                    if late
                    else DeliveryStatus.SKIPPED
                    if is_away(day, away_from, away_until)
                    or (campaign.skip_holidays and off[country])
                    else ask
                )
                yield {  # every row names every column: one INSERT for them all
                    **base,
                    "dedupe_key": f"p:{campaign.id}:{occurrence}:{prompt_id}:m{member_id}",
                    "prompt_id": prompt_id,
                    "measure_id": measure.id if measure else None,
                    "member_id": member_id,
                    "channel_id": None,
                    "organisation_id": org_id,
                    "period_key": period_key,
                    "locale": locale,
                    "status": status.value,
                    "platform": None,
                    "next_attempt_at": fire if status is ask else None,
                }
            addresses, channel_locale = channels if measure is None else ([], "")
            for cid, platform in addresses:
                yield {
                    **base,
                    "dedupe_key": f"p:{campaign.id}:{occurrence}:{prompt_id}:c{cid}:{platform}",
                    "prompt_id": prompt_id,
                    "measure_id": None,
                    "member_id": None,
                    "channel_id": cid,
                    "organisation_id": None,
                    "period_key": period_key,
                    "locale": channel_locale,
                    "status": (DeliveryStatus.MISSED if late else DeliveryStatus.PENDING).value,
                    "platform": platform,
                    "next_attempt_at": None if late else fire,
                }

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
