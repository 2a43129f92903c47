"""What a delivery says and where it goes: the prompt in the member's language and platform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import turn_length, waiting_after
from bot.digest.build import DigestContent, shared_highlights, staff_digest
from bot.digest.chartcache import ChartCache
from bot.domain.periods import Period
from bot.domain.prompts import PromptDef, pick
from bot.domain.values import AnswerType, DeliveryKind
from bot.i18n import _, ngettext, translate
from bot.i18n import pick as pick_name
from bot.notices import text_of
from bot.ports import Attachment, ChoiceOption, Destination, DestinationKind, Outgoing, Rejected
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, Delivery, OutboxFile


@dataclass
class MemberInfo:
    handle: str
    display_name: str
    locale: str
    organisation: str
    identities: dict[str, str]


@dataclass
class BatchContext:
    prompts: dict[str, PromptDef] = field(default_factory=dict)
    members: dict[int, MemberInfo] = field(default_factory=dict)
    campaigns: dict[int, tuple[str, int | None, int]] = field(default_factory=dict)
    campaign_names: dict[int, dict[str, str]] = field(default_factory=dict)
    """Each campaign's name by language (English under ``en``)."""
    measures: dict[int, str] = field(default_factory=dict)
    channels: dict[tuple[int, str], str] = field(default_factory=dict)
    answered_parents: set[int] = field(default_factory=set)
    digests: dict[tuple[str, str], DigestContent] = field(default_factory=dict)
    preference: list[str] = field(default_factory=list)
    files: dict[int, list[OutboxFile]] = field(default_factory=dict)
    """The files of reply rows, by delivery id."""
    waiting: dict[int, int] = field(default_factory=dict)
    """How many questions each member has queued behind the one being asked."""


@dataclass(frozen=True)
class Plan:
    platform: str
    destination: Destination
    message: Outgoing
    remind_after: int | None = None
    attachments: tuple[Attachment, ...] = ()
    turn: timedelta | None = None
    """How long a member's question holds their conversation unanswered (bot.conversation)."""


def _digest_key(row: Delivery) -> tuple[str, str]:
    payload = row.payload or {}
    return (str(payload.get("kind", "staff")), row.period_key)


async def digest_content(
    s: AsyncSession, kind: str, period_key: str, charts: ChartCache | None = None
) -> DigestContent:
    """What a scheduled digest says: computed once per batch, however many receive it."""
    period = Period.parse_key(period_key)
    if kind == "highlights":
        return await shared_highlights(s, period)
    return await staff_digest(s, period, charts=charts)


def prompt_message(
    prompt: PromptDef, *, locale: str, organisation: str, period_key: str, unit: str = ""
) -> tuple[str, tuple[ChoiceOption, ...]]:
    """The question as the member reads it, and the options to pick from."""
    period = Period.parse_key(period_key).label(locale) if period_key else ""
    unit_text = pick(prompt.unit, locale) if prompt.unit else unit
    text = prompt.render(locale, organisation=organisation, period=period, unit=unit_text)
    choices: tuple[ChoiceOption, ...] = ()
    if prompt.answer is AnswerType.CHOICE:
        choices = tuple(ChoiceOption(c.key, pick(c.label, locale)) for c in prompt.choices)
    elif prompt.answer is AnswerType.SCALE and prompt.scale is not None:
        low = pick(prompt.scale.low, locale) if prompt.scale.low else ""
        high = pick(prompt.scale.high, locale) if prompt.scale.high else ""
        options = []
        for value in range(prompt.scale.min, prompt.scale.max + 1):
            label = str(value)
            if value == prompt.scale.min and low:
                label += f" ({low})"
            elif value == prompt.scale.max and high:
                label += f" ({high})"
            options.append(ChoiceOption(str(value), label))
        choices = tuple(options)
    return text, choices


class Renderer:
    def __init__(self, charts: ChartCache | None = None) -> None:
        self.charts = charts
        """Digest charts already drawn (``bot/digest/chartcache.py``)."""

    async def context(
        self, s: AsyncSession, rows: Sequence[Delivery], preference: Sequence[str]
    ) -> BatchContext:
        ctx = BatchContext(preference=list(preference))
        if any(r.kind not in (DeliveryKind.REPLY, DeliveryKind.NOTICE) for r in rows):
            ctx.prompts = await load_prompts(s)
        member_ids = {r.member_id for r in rows if r.member_id is not None}
        if member_ids:
            for mid, handle, name, locale, org in (
                await s.execute(
                    select(
                        m.Member.id,
                        m.Member.handle,
                        m.Member.display_name,
                        m.Member.locale,
                        m.Organisation.name,
                    )
                    .join(m.Organisation, m.Organisation.id == m.Member.organisation_id)
                    .where(m.Member.id.in_(member_ids))
                )
            ).all():
                ctx.members[mid] = MemberInfo(handle, name, locale, org, {})
            for mid, platform, external in (
                await s.execute(
                    select(m.Identity.member_id, m.Identity.platform, m.Identity.external_id).where(
                        m.Identity.member_id.in_(member_ids)
                    )
                )
            ).all():
                ctx.members[mid].identities[platform] = external
        campaign_ids = {r.campaign_id for r in rows if r.campaign_id is not None}
        for cid, name, names, after, most in (
            await s.execute(
                select(
                    m.Campaign.id,
                    m.Campaign.name,
                    m.Campaign.names,
                    m.Campaign.reminder_after_minutes,
                    m.Campaign.reminder_max,
                ).where(m.Campaign.id.in_(campaign_ids))
            )
        ).all():
            ctx.campaigns[cid] = (name, after, most)
            ctx.campaign_names[cid] = {**(names or {}), "en": name}
        measure_ids = {r.measure_id for r in rows if r.measure_id is not None}
        for mid, unit in (
            await s.execute(
                select(m.Measure.id, m.Measure.unit).where(m.Measure.id.in_(measure_ids))
            )
        ).all():
            ctx.measures[mid] = unit
        channel_ids = {r.channel_id for r in rows if r.channel_id is not None}
        for cid, platform, address in (
            await s.execute(
                select(
                    m.ChannelAddress.channel_id, m.ChannelAddress.platform, m.ChannelAddress.address
                ).where(m.ChannelAddress.channel_id.in_(channel_ids))
            )
        ).all():
            ctx.channels[(cid, platform)] = address
        for row in rows:
            if row.kind == DeliveryKind.DIGEST.value and _digest_key(row) not in ctx.digests:
                ctx.digests[_digest_key(row)] = await digest_content(
                    s, *_digest_key(row), self.charts
                )
        asking = {
            r.member_id
            for r in rows
            if r.member_id is not None and r.kind in (DeliveryKind.PROMPT, DeliveryKind.REMINDER)
        }
        ctx.waiting = await waiting_after(s, asking)
        parents = {r.parent_id for r in rows if r.parent_id is not None}
        if parents:
            ctx.answered_parents = {
                d
                for d in (
                    await s.scalars(
                        select(CheckIn.delivery_id).where(CheckIn.delivery_id.in_(parents))
                    )
                ).all()
                if d is not None
            }
        return ctx

    def plan(self, row: Delivery, ctx: BatchContext) -> Plan | None:
        """Where and what to send; None when it no longer needs sending (already answered)."""
        if row.kind == DeliveryKind.REMINDER.value and row.parent_id in ctx.answered_parents:
            return None
        campaign = ctx.campaigns.get(row.campaign_id or -1)
        if row.member_id is not None:
            member = ctx.members[row.member_id]
            platform = row.platform or next(
                (p for p in ctx.preference if p in member.identities), None
            )
            if platform is None or platform not in member.identities:
                raise Rejected(
                    f"member {member.handle} has no account on a running platform "
                    f"({', '.join(ctx.preference) or 'none'})"
                )
            destination = Destination(
                DestinationKind.PERSON, member.identities[platform], thread=row.thread_ref
            )
            locale, organisation = row.locale or member.locale, member.organisation
        else:
            platform = row.platform or ""
            address = ctx.channels.get((row.channel_id or -1, platform))
            if address is None:
                raise Rejected(f"channel {row.channel_id} has no {platform} address")
            destination = Destination(DestinationKind.CHANNEL, address, thread=row.thread_ref)
            locale, organisation = row.locale, ""
        if row.kind == DeliveryKind.NOTICE.value:
            said = translate(text_of(row.payload or {}), locale)
            notice = Outgoing(text=said, idempotency_key=row.dedupe_key, locale=locale)
            return Plan(platform, destination, notice)
        if row.kind == DeliveryKind.DIGEST.value:
            content = ctx.digests[_digest_key(row)].in_(locale)

            message = Outgoing(
                text=content.text,
                title=content.title,
                kind=row.kind,
                formats=content.formats,
                idempotency_key=row.dedupe_key,
                locale=locale,
            )
            return Plan(platform, destination, message, attachments=content.attachments)
        prompt = ctx.prompts[row.prompt_id or ""]
        unit = ctx.measures.get(row.measure_id or -1, "")
        text, choices = prompt_message(
            prompt, locale=locale, organisation=organisation, period_key=row.period_key, unit=unit
        )
        if row.kind == DeliveryKind.REMINDER.value:
            reminder = _("Reminder: we have not heard from you yet.")
            text = f"{translate(reminder, locale)}\n{text}"
        if (row.payload or {}).get("about"):  # what a follow-up or exercise is about
            text = f"{text}\n\n{translate(text_of(row.payload, 'about'), locale)}"
        more = ctx.waiting.get(row.member_id or -1, 0)
        if more:  # one question at a time: say that the conversation goes on
            after = ngettext(
                "{n} more question after this one.", "{n} more questions after this one.", more
            )
            text = f"{text}\n\n{translate(after, locale)}"
        title = ""
        if campaign:
            name = pick_name(ctx.campaign_names.get(row.campaign_id or -1, {}), locale)
            title = translate(_("Check-in: {campaign}", campaign=name or campaign[0]), locale)

        message = Outgoing(
            text=text,
            title=title,
            choices=choices,
            kind=row.kind,
            answer_kind=prompt.answer.value,
            delivery_id=row.parent_id or row.id,
            idempotency_key=row.dedupe_key,
            locale=locale,
        )
        remind_after = campaign[1] if campaign and campaign[2] else None
        left = max((campaign[2] if campaign else 0) - row.reminders_sent, 0)
        turn = turn_length(remind_after, left) if row.member_id else None
        return Plan(platform, destination, message, remind_after, turn=turn)
