"""``campaign``: the admins' commands to list, pause, resume and preview campaigns."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.domain.errors import UserError
from bot.domain.values import Role
from bot.i18n import Text, _, ngettext, pick, translate, written
from bot.ports import Reply
from bot.scheduling.cron import parse_cron
from bot.storage import models as m
from bot.text import quote

if TYPE_CHECKING:
    from bot.commands import CommandContext


def campaign_name(campaign: m.Campaign, locale: str) -> str:
    """The campaign's name in the reader's language (the alliance file may give several)."""
    return pick({**(campaign.names or {}), "en": campaign.name}, locale)


async def campaign_command(ctx: CommandContext, args: str) -> list[Reply]:
    if ctx.member.role != Role.ADMIN.value:
        raise UserError(
            _(
                "Campaign commands are for the alliance's admins. Ask one of them to pause or "
                "change a campaign."
            )
        )
    words = args.split()
    action = words[0].lower() if words else "list"
    if action == "list":
        return [Reply(await _campaign_list(ctx.session, ctx.member.locale))]
    if action not in ("pause", "resume", "preview") or len(words) != 2:
        raise UserError(
            _(
                "Use: campaign list | campaign pause <key> | campaign resume <key> | "
                "campaign preview <key>."
            )
        )
    campaign = await ctx.session.scalar(select(m.Campaign).where(m.Campaign.key == words[1]))
    if campaign is None or not campaign.active:
        keys = ", ".join(
            (await ctx.session.scalars(select(m.Campaign.key).where(m.Campaign.active))).all()
        )
        raise UserError(
            _(
                "There is no campaign “{key}”. The campaigns are: {keys}.",
                key=quote(words[1]),
                keys=keys,
            )
        )
    if action == "preview":
        return [Reply(await _preview(ctx, campaign))]
    if campaign.paused != (action == "pause"):
        campaign.paused = action == "pause"
        await audit.by_member(
            ctx.session,
            ctx.member,
            at=ctx.now,
            action=action,
            object_kind="campaign",
            object_id=campaign.key,
        )
    name = campaign_name(campaign, ctx.member.locale)
    state: Text = (
        _("Campaign “{name}” is paused: no prompt goes out until it is resumed.", name=name)
        if campaign.paused
        else _("Campaign “{name}” is running again from its next scheduled time.", name=name)
    )
    return [ctx.reply(state, private=False)]


async def _campaign_list(s: AsyncSession, locale: str) -> str:
    rows = (
        await s.scalars(select(m.Campaign).where(m.Campaign.active).order_by(m.Campaign.key))
    ).all()
    if not rows:
        return translate(_("No campaigns are defined."), locale)
    lines = [translate(_("Campaigns:"), locale)]
    for c in rows:
        zone = c.timezone or translate(_("member time"), locale)
        state = _("PAUSED") if c.paused else _("running")
        line = _(
            "{key}: {name} — {schedule} ({zone}), {state}",
            key=c.key,
            name=campaign_name(c, locale),
            schedule=c.schedule,
            zone=zone,
            state=state,
        )
        lines.append(translate(line, locale))
    return "\n".join(lines)


async def _preview(ctx: CommandContext, campaign: m.Campaign) -> str:
    locale = ctx.member.locale
    spec = parse_cron(campaign.schedule)
    head = _(
        "Next sends of “{name}” ({schedule}):",
        name=campaign_name(campaign, locale),
        schedule=campaign.schedule,
    )
    lines = [ctx.tr(head)]
    for zone in sorted(await ctx.planner.zones(campaign)):
        fire = spec.next_after(ctx.now, ZoneInfo(zone))
        count = await ctx.session.scalar(
            select(func.count())
            .select_from(m.Member)
            .where(
                *ctx.planner.audience(campaign),
                *([] if campaign.timezone else [m.Member.timezone == zone]),
            )
        )
        if fire is None:
            when, utc = ctx.tr(_("never")), ""
        else:
            where = written(locale)
            when = format_datetime(fire, "EEE dd MMM HH:mm", tzinfo=ZoneInfo(zone), locale=where)
            utc = format_datetime(fire, "HH:mm", tzinfo=UTC, locale=where) + " UTC"
        line = ngettext(
            "{zone}: {when} ({utc}) to {n} member",
            "{zone}: {when} ({utc}) to {n} members",
            int(count or 0),
            zone=zone,
            when=when,
            utc=utc,
        )
        lines.append("  " + ctx.tr(line))
    if campaign.paused:
        lines.append(ctx.tr(_("The campaign is paused: nothing will go out until it is resumed.")))
    return "\n".join(lines)
