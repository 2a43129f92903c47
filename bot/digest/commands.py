"""Digest commands: ``digest``, ``digest export``, ``highlights``, ``star``/``unstar`` and
``share``/``unshare``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import audit
from bot.digest.build import shared_highlights, staff_digest
from bot.digest.compute import window
from bot.digest.export import export
from bot.digest.filter import Org, split_filter
from bot.digest.periods import parse_digest_period
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import Role
from bot.ports import Reply
from bot.storage import models as m
from bot.storage.records import CheckIn
from bot.text import parse_id

if TYPE_CHECKING:
    from bot.commands import CommandContext

STAFF_ONLY = (
    "Digests are for the backbone team, since they show everyone's answers. "
    "You can see your own with “mydata”."
)


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
    meta = await ctx.session.get(m.Alliance, 1)
    today = ctx.now.astimezone(ZoneInfo(meta.default_timezone if meta else "UTC")).date()
    rows = (await ctx.session.execute(select(m.Organisation.slug, m.Organisation.name))).all()
    period, org = split_filter(
        words,
        [Org(str(slug), str(name)) for slug, name in rows],
        lambda text: parse_digest_period(text, today),
    )
    organisation = org.slug if org else None
    content = await staff_digest(ctx.session, period, organisation, charts=ctx.charts)
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


async def _export(ctx: CommandContext, words: list[str]) -> list[Reply]:
    fmt = "csv"
    if words and words[-1].lower() in ("csv", "xlsx"):
        fmt = words.pop().lower()
    period, zone = await _period(ctx, " ".join(words))
    start, end = window(period, zone)
    file = await export(ctx.session, period, start, end, fmt)
    await _record(ctx, "export", "period", period.key, {"format": fmt})
    return [
        Reply(
            f"The check-ins and measure figures of {period.label()} are attached ({fmt.upper()}).",
            attachments=(file,),
        )
    ]


async def highlights(ctx: CommandContext, args: str) -> list[Reply]:
    """The alliance-wide post: only answers their authors marked shareable; anyone may ask."""
    period, _ = await _period(ctx, args)
    content = await shared_highlights(ctx.session, period)
    return [Reply(content.text, formats=content.formats)]


async def _own_or_staff(ctx: CommandContext, args: str, *, staff: bool, verb: str) -> CheckIn:
    number = parse_id(args)
    if number is None:
        where = "the digest shows them" if staff else "“mydata” lists yours"
        raise UserError(f"Tell me which check-in, by its number, e.g. “{verb} 12” ({where}).")
    checkin = await ctx.session.get(CheckIn, number)
    allowed = checkin is not None and (
        checkin.member_id == ctx.member.id or (staff and Role(ctx.member.role).is_staff)
    )
    if checkin is None or not allowed:
        raise UserError(f"You have no check-in #{number}; “mydata” lists yours.")
    return checkin


async def share(ctx: CommandContext, args: str) -> list[Reply]:
    checkin = await _own_or_staff(ctx, args, staff=False, verb="share")
    if not checkin.shareable:
        checkin.shareable = True
        await _record(ctx, "share", "checkin", checkin.id)
    return [
        Reply(
            f"Check-in #{checkin.id} may now appear in the alliance-wide highlights. "
            f"“unshare {checkin.id}” takes it back."
        )
    ]


async def unshare(ctx: CommandContext, args: str) -> list[Reply]:
    checkin = await _own_or_staff(ctx, args, staff=False, verb="unshare")
    if checkin.shareable:
        checkin.shareable = False
        await _record(ctx, "unshare", "checkin", checkin.id)
    return [Reply(f"Check-in #{checkin.id} stays with the backbone team only.")]


async def star(ctx: CommandContext, args: str) -> list[Reply]:
    return await _set_star(ctx, args, True)


async def unstar(ctx: CommandContext, args: str) -> list[Reply]:
    return await _set_star(ctx, args, False)


async def _set_star(ctx: CommandContext, args: str, starred: bool) -> list[Reply]:
    """Explicit, not a toggle: a button pressed twice or a command repeated changes nothing."""
    if not Role(ctx.member.role).is_staff:
        raise UserError("Starring answers for the digest is for the backbone team.")
    verb = "star" if starred else "unstar"
    checkin = await _own_or_staff(ctx, args, staff=True, verb=verb)
    if checkin.starred == starred:
        state = "already starred" if starred else "not starred"
        return [Reply(f"Check-in #{checkin.id} is {state}.")]
    checkin.starred, checkin.starred_ref = starred, None
    await _record(ctx, verb, "checkin", checkin.id, {"via": "command"})
    if starred:
        return [
            Reply(
                f"Check-in #{checkin.id} is starred: it leads the digest's highlights. "
                f"“unstar {checkin.id}” takes it back."
            )
        ]
    return [Reply(f"Check-in #{checkin.id} is no longer starred.")]


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
