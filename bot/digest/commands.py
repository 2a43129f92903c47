"""Digest commands: ``digest``, ``digest export``, ``highlights``, ``star``/``unstar`` and
``share``/``unshare``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import audit
from bot.digest.build import digest_charts, shared_highlights, staff_digest
from bot.digest.compute import window
from bot.digest.export import export
from bot.digest.filter import Org, split_filter
from bot.digest.periods import parse_digest_period
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import Role
from bot.i18n import Text, _
from bot.ports import Reply
from bot.storage import models as m
from bot.storage.records import CheckIn
from bot.text import parse_id
from bot.webhooks import events as webhooks

if TYPE_CHECKING:
    from bot.commands import CommandContext

STAFF_ONLY = _(
    "Digests are for the backbone team, since they show everyone's answers. "
    "You can see your own with “mydata”."
)


def no_such_checkin(number: int) -> Text:
    return _("You have no check-in #{id}; “mydata” lists yours.", id=number)


async def _period(ctx: CommandContext, text: str) -> tuple[Period, str]:
    meta = await ctx.session.get(m.Alliance, 1)
    zone = meta.default_timezone if meta else "UTC"
    return parse_digest_period(text, ctx.now.astimezone(ZoneInfo(zone)).date()), zone


async def digest(ctx: CommandContext, args: str) -> list[Reply]:
    if not Role(ctx.member.role).is_staff:
        raise UserError(STAFF_ONLY)
    words = args.split()
    if words[:1] == ["export"]:
        return await _export(ctx, words[1:])
    if words[:1] == ["chart"]:
        return await _charts(ctx, words[1:])
    period, organisation = await _filter(ctx, words)
    content = await staff_digest(
        ctx.session, period, organisation, charts=ctx.charts, locale=ctx.member.locale
    )
    detail = {"organisation": organisation} if organisation else None
    await _record(ctx, "digest", "period", period.key, detail)
    return [
        Reply(
            content.text,
            title=content.title,
            attachments=content.attachments,
            formats=content.formats,
        )
    ]


async def _filter(ctx: CommandContext, words: list[str]) -> tuple[Period, str | None]:
    """The period and the organisation's slug (None: the whole alliance) the words name."""
    meta = await ctx.session.get(m.Alliance, 1)
    today = ctx.now.astimezone(ZoneInfo(meta.default_timezone if meta else "UTC")).date()
    rows = (await ctx.session.execute(select(m.Organisation.slug, m.Organisation.name))).all()
    period, org = split_filter(
        words,
        [Org(str(slug), str(name)) for slug, name in rows],
        lambda text: parse_digest_period(text, today),
    )
    return period, org.slug if org else None


async def _charts(ctx: CommandContext, words: list[str]) -> list[Reply]:
    """``digest chart [period] [organisation]``: the heat map and the measures chart."""
    period, organisation = await _filter(ctx, words)
    files = await digest_charts(
        ctx.session, period, organisation, charts=ctx.charts, locale=ctx.member.locale
    )
    detail = {"organisation": organisation} if organisation else None
    await _record(ctx, "chart", "period", period.key, detail)
    said = _(
        "Response by organisation and week, and measures against their targets, to {period}.",
        period=period.label(ctx.member.locale),
    )
    return [ctx.reply(said, attachments=files)]


async def _export(ctx: CommandContext, words: list[str]) -> list[Reply]:
    fmt = "csv"
    if words and words[-1].lower() in ("csv", "xlsx"):
        fmt = words.pop().lower()
    period, zone = await _period(ctx, " ".join(words))
    start, end = window(period, zone)
    file = await export(ctx.session, period, start, end, fmt, ctx.member.locale)
    await _record(ctx, "export", "period", period.key, {"format": fmt})
    attached = _(
        "The check-ins and measure figures of {period} are attached ({format}).",
        period=period.label(ctx.member.locale),
        format=fmt.upper(),
    )
    return [ctx.reply(attached, attachments=(file,))]


async def highlights(ctx: CommandContext, args: str) -> list[Reply]:
    """The alliance-wide post: only answers their authors marked shareable; anyone may ask."""
    period, _zone = await _period(ctx, args)
    content = await shared_highlights(ctx.session, period, ctx.member.locale)
    return [Reply(content.text, formats=content.formats)]


async def _own_or_staff(ctx: CommandContext, args: str, *, staff: bool, verb: str) -> CheckIn:
    number = parse_id(args)
    if number is None:
        if staff:
            raise UserError(
                _(
                    "Tell me which check-in, by its number, e.g. “{command} 12” (the digest "
                    "shows them).",
                    command=verb,
                )
            )
        raise UserError(
            _(
                "Tell me which check-in, by its number, e.g. “{command} 12” (“mydata” lists "
                "yours).",
                command=verb,
            )
        )
    checkin = await ctx.session.get(CheckIn, number)
    allowed = checkin is not None and (
        checkin.member_id == ctx.member.id or (staff and Role(ctx.member.role).is_staff)
    )
    if checkin is None or not allowed:
        raise UserError(no_such_checkin(number))
    return checkin


async def share(ctx: CommandContext, args: str) -> list[Reply]:
    checkin = await _own_or_staff(ctx, args, staff=False, verb="share")
    if not checkin.shareable:
        checkin.shareable = True
        await _record(ctx, "share", "checkin", checkin.id)
        await webhooks.checkins_changed(ctx.session, ctx.now, edited=[checkin.id])
    shared = _(
        "Check-in #{id} may now appear in the alliance-wide highlights. “unshare {id}” takes "
        "it back.",
        id=checkin.id,
    )
    return [ctx.reply(shared)]


async def unshare(ctx: CommandContext, args: str) -> list[Reply]:
    checkin = await _own_or_staff(ctx, args, staff=False, verb="unshare")
    if checkin.shareable:
        checkin.shareable = False
        await _record(ctx, "unshare", "checkin", checkin.id)
        await webhooks.checkin_unshared(ctx.session, ctx.now, checkin.id)
    return [ctx.reply(_("Check-in #{id} stays with the backbone team only.", id=checkin.id))]


async def star(ctx: CommandContext, args: str) -> list[Reply]:
    return await _set_star(ctx, args, True)


async def unstar(ctx: CommandContext, args: str) -> list[Reply]:
    return await _set_star(ctx, args, False)


async def _set_star(ctx: CommandContext, args: str, starred: bool) -> list[Reply]:
    """Explicit, not a toggle: a button pressed twice or a command repeated changes nothing."""
    if not Role(ctx.member.role).is_staff:
        raise UserError(_("Starring answers for the digest is for the backbone team."))
    verb = "star" if starred else "unstar"
    checkin = await _own_or_staff(ctx, args, staff=True, verb=verb)
    if checkin.starred == starred:
        if starred:
            return [ctx.reply(_("Check-in #{id} is already starred.", id=checkin.id))]
        return [ctx.reply(_("Check-in #{id} is not starred.", id=checkin.id))]
    checkin.starred, checkin.starred_ref = starred, None
    await _record(ctx, verb, "checkin", checkin.id, {"via": "command"})
    if starred:
        starred_text = _(
            "Check-in #{id} is starred: it leads the digest's highlights. “unstar {id}” takes "
            "it back.",
            id=checkin.id,
        )
        return [ctx.reply(starred_text)]
    return [ctx.reply(_("Check-in #{id} is no longer starred.", id=checkin.id))]


async def _record(
    ctx: CommandContext,
    action: str,
    object_kind: str,
    object_id: str | int,
    detail: audit.Detail | None = None,
) -> None:
    await audit.by_member(
        ctx.session,
        ctx.member,
        at=ctx.now,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        detail=detail,
    )
