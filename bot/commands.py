"""Commands, the same on every platform (adapters map ``/x`` or ``!x`` onto them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, away, reach
from bot.checkins import delivery_by_ref, latest_open, still_open
from bot.digest import commands as digest_commands
from bot.digest.chartcache import ChartCache
from bot.digest.export import checkin_query, checkins_csv
from bot.domain.errors import UserError
from bot.domain.values import DeliveryKind, DeliveryStatus, Role
from bot.events import CommandReceived
from bot.ports import Attachment, Reply
from bot.privacy.erase import delete_all, export_name, forget_checkin
from bot.render import prompt_message
from bot.scheduling.cron import parse_cron
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, CheckInRevision, Delivery
from bot.text import parse_id, quote

AnswerFn = Callable[[Delivery, str, str], Awaitable[list[Reply]]]

HELP_MEMBER = """\
What I can do:
  checkin                 show the question waiting for your answer
  checkin <answer>        answer it (or reply in the prompt's thread)
  skip                    skip the waiting question this time
  away until <date>       you are away (or away 2w): no questions or reminders until then
  back                    you are back: questions resume with the next run
  mydata                  your own recent check-ins
  mydata export           all your check-ins as a CSV file
  mydata delete <id>      delete one of your check-ins
  mydata delete all       erase everything you told me (asks you to confirm first)
  share <id> | unshare <id>   let one of your answers appear in the alliance-wide highlights
  highlights [period]     what members shared with the whole alliance
  help                    this list"""
HELP_STAFF = """
For backbone staff:
  digest [period] [organisation]   e.g. digest, digest last week, digest 2026-10 lyon-bm
  digest export [period] [csv|xlsx]
  star <id> | unstar <id>   put an answer at the top of the digest's highlights
                          (or react ⭐ to the answer where you can see it)
  installs                which organisations have installed the bot in their workspace"""
HELP_ADMIN = """
For admins:
  campaign list
  campaign pause <key> | resume <key>
  campaign preview <key>  the next sends per time zone
  audit [n] [action]      who did what: the latest staff and admin actions"""


@dataclass
class CommandContext:
    session: AsyncSession
    member: m.Member
    event: CommandReceived
    now: datetime
    planner: Planner
    answer: AnswerFn
    files_dirs: tuple[Path, ...] = ()
    """Where ports keep the files they post on this machine (erased with their author's words)."""
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Run once the command's transaction is committed."""
    charts: ChartCache | None = None
    """Digest charts already drawn (``bot/digest/chartcache.py``)."""
    how_to_type: str = ""
    """How commands are typed on the platform the command came from (atop the help)."""


def help_text(role: str, how_to_type: str = "") -> str:
    text = f"{how_to_type}\n\n{HELP_MEMBER}" if how_to_type else HELP_MEMBER
    if Role(role).is_staff:
        text += HELP_STAFF
    if role == Role.ADMIN.value:
        text += HELP_ADMIN
    return text


async def run_command(ctx: CommandContext, name: str, args: str) -> list[Reply]:
    handler = _COMMANDS.get(name.lower().lstrip("/!"))
    if handler is None:
        help_ = help_text(ctx.member.role, ctx.how_to_type)
        return [Reply(f"I don't know the command “{quote(name)}”.\n\n{help_}")]
    return await handler(ctx, args.strip())


async def _help(ctx: CommandContext, args: str) -> list[Reply]:
    return [Reply(help_text(ctx.member.role, ctx.how_to_type))]


async def _checkin(ctx: CommandContext, args: str) -> list[Reply]:
    delivery = await latest_open(ctx.session, ctx.member, ctx.now)
    if delivery is None:
        raise UserError("You have no open question right now. Thank you, you are up to date!")
    if not args:
        prompts = await load_prompts(ctx.session)
        org = await ctx.session.get(m.Organisation, ctx.member.organisation_id)
        text, choices = prompt_message(
            prompts[delivery.prompt_id or ""],
            locale=ctx.member.locale,
            organisation=org.name if org else "",
            period_key=delivery.period_key,
        )
        options = "".join(f"\n  {i}. {c.label}" for i, c in enumerate(choices, 1))
        return [
            Reply(
                f"Waiting for your answer:\n{text}{options}\n\nAnswer with: checkin <your answer>"
            )
        ]
    return await ctx.answer(delivery, args, "command")


async def _skip(ctx: CommandContext, args: str) -> list[Reply]:
    """Skip the prompt the command was given on (its button, or typed in its thread): only
    when it is the member's own and still open, never another one instead. Given nowhere in
    particular, the latest open question."""
    if ctx.event.thread:
        delivery = await delivery_by_ref(ctx.session, ctx.event.platform, ctx.event.thread)
        mine = delivery is not None and delivery.member_id == ctx.member.id
        if delivery is None or not mine or delivery.kind != DeliveryKind.PROMPT.value:
            raise UserError(
                "That message is not a question of yours, so nothing was skipped. To skip the "
                "question waiting for you, use Skip on it, or send skip in our direct chat."
            )
        if not await still_open(ctx.session, delivery, ctx.now):
            raise UserError(
                "That question is no longer open (answered, skipped or too old), so nothing "
                "was skipped."
            )
    else:
        delivery = await latest_open(ctx.session, ctx.member, ctx.now)
    if delivery is None:
        raise UserError("There is nothing to skip: no question is waiting for you.")
    delivery.status = DeliveryStatus.SKIPPED.value
    delivery.remind_at = None
    return [Reply("Skipped this time; no reminders will follow for it.")]


async def _mydata(ctx: CommandContext, args: str) -> list[Reply]:
    s, member = ctx.session, ctx.member
    words = args.split()
    if words[:2] == ["delete", "all"]:
        return await delete_all(
            s, member, ctx.now, words[2:], folders=ctx.files_dirs, after_commit=ctx.after_commit
        )
    if words[:1] == ["delete"]:
        number = parse_id(words[1]) if len(words) == 2 else None
        if number is None:
            raise UserError(
                "Tell me which check-in to delete by its number, e.g. “mydata delete 12” "
                "(the numbers are in “mydata”)."
            )
        checkin = await s.get(CheckIn, number)
        if checkin is None or checkin.member_id != member.id:
            raise UserError(f"You have no check-in #{number}; “mydata” lists yours.")
        await audit.by_member(
            s,
            member,
            at=ctx.now,
            action="delete",
            object_kind="checkin",
            object_id=checkin.id,
            detail={"prompt": checkin.prompt_id, "period": checkin.period_key},
        )
        await forget_checkin(s, checkin, ctx.files_dirs)
        await s.execute(delete(CheckInRevision).where(CheckInRevision.checkin_id == checkin.id))
        await s.delete(checkin)
        return [Reply(f"Deleted your check-in #{checkin.id} and its history.")]
    rows = (
        await s.scalars(
            select(CheckIn)
            .where(CheckIn.member_id == member.id)
            .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
        )
    ).all()
    if words[:1] == ["export"]:
        own = checkin_query().where(CheckIn.member_id == member.id).order_by(CheckIn.answered_at)
        buffer = checkins_csv([tuple(row) for row in (await s.execute(own)).all()])
        file = Attachment(
            export_name(member.handle),
            buffer.getvalue().encode(),
            "text/csv",
            "Your check-ins",
        )
        return [Reply(f"Your {len(rows)} check-ins are attached.", attachments=(file,))]
    if words:
        raise UserError("mydata takes nothing, “export”, or “delete <id>”.")
    if not rows:
        return [Reply("You have no check-ins yet.")]
    lines = [
        f"#{c.id} {c.period_key} {c.prompt_id}: {quote(c.answer_text, 80)}"
        + (" (edited)" if c.edited_at else "")
        for c in rows[:20]
    ]
    more = f"\n…and {len(rows) - 20} more (mydata export)." if len(rows) > 20 else ""
    return [Reply("Your check-ins, newest first:", quoted="\n".join(lines) + more)]


async def _campaign(ctx: CommandContext, args: str) -> list[Reply]:
    if ctx.member.role != Role.ADMIN.value:
        raise UserError(
            "Campaign commands are for the alliance's admins. Ask one of them to "
            "pause or change a campaign."
        )
    words = args.split()
    action = words[0].lower() if words else "list"
    if action == "list":
        return [Reply(await _campaign_list(ctx.session))]
    if action not in ("pause", "resume", "preview") or len(words) != 2:
        raise UserError(
            "Use: campaign list | campaign pause <key> | campaign resume <key> | "
            "campaign preview <key>."
        )
    campaign = await ctx.session.scalar(select(m.Campaign).where(m.Campaign.key == words[1]))
    if campaign is None or not campaign.active:
        keys = ", ".join(
            (await ctx.session.scalars(select(m.Campaign.key).where(m.Campaign.active))).all()
        )
        raise UserError(f"There is no campaign “{quote(words[1])}”. The campaigns are: {keys}.")
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
    state = (
        "paused: no prompt goes out until it is resumed"
        if campaign.paused
        else "running again from its next scheduled time"
    )
    return [Reply(f"Campaign “{campaign.name}” is {state}.", private=False)]


async def _campaign_list(s: AsyncSession) -> str:
    rows = (
        await s.scalars(select(m.Campaign).where(m.Campaign.active).order_by(m.Campaign.key))
    ).all()
    lines = [
        f"{c.key}: {c.name} — {c.schedule} ({c.timezone or 'member time'}), "
        f"{'PAUSED' if c.paused else 'running'}"
        for c in rows
    ]
    return "Campaigns:\n" + "\n".join(lines) if lines else "No campaigns are defined."


async def _preview(ctx: CommandContext, campaign: m.Campaign) -> str:
    spec = parse_cron(campaign.schedule)
    lines = [f"Next sends of “{campaign.name}” ({campaign.schedule}):"]
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
        when = fire.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M") if fire else "never"
        utc = fire.astimezone(UTC).strftime("%H:%M UTC") if fire else ""
        lines.append(f"  {zone}: {when} ({utc}) to {count} member(s)")
    if campaign.paused:
        lines.append("The campaign is paused: nothing will go out until it is resumed.")
    return "\n".join(lines)


_COMMANDS: dict[str, Callable[[CommandContext, str], Awaitable[list[Reply]]]] = {
    "help": _help,
    "alliance-help": _help,
    "start": _help,
    "checkin": _checkin,
    "skip": _skip,
    "away": away.away,
    "back": away.back,
    "mydata": _mydata,
    "digest": digest_commands.digest,
    "highlights": digest_commands.highlights,
    "share": digest_commands.share,
    "unshare": digest_commands.unshare,
    "star": digest_commands.star,
    "unstar": digest_commands.unstar,
    "campaign": _campaign,
    "audit": audit.command,
    "installs": reach.installs_command,
}

__all__ = ["CommandContext", "help_text", "run_command", "Any"]
