"""Commands, the same on every platform (adapters map ``/x`` or ``!x`` onto them)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, away, reach
from bot.campaign_commands import campaign_command
from bot.checkins import delivery_by_ref, latest_open, still_open
from bot.conversation import take_turns
from bot.digest import commands as digest_commands
from bot.digest.chartcache import ChartCache
from bot.digest.export import checkin_query, checkins_csv
from bot.domain.errors import UserError
from bot.domain.values import DeliveryKind, DeliveryStatus, Role
from bot.events import CommandReceived
from bot.i18n import Text, _, ngettext, translate
from bot.insight import agenda
from bot.partners import commands as partner_commands
from bot.ports import Attachment, Reply
from bot.privacy.erase import delete_all, export_name, forget_checkin
from bot.render import prompt_message
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, CheckInRevision, Delivery
from bot.text import parse_id, quote
from bot.vocabulary import COMMAND_WORDS

AnswerFn = Callable[[Delivery, str, str], Awaitable[list[Reply]]]

HELP_MEMBER = _("""\
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
  link <id> ok | none | <names>   confirm or correct the organisations I read in an answer
  help                    this list""")
HELP_STAFF = _("""\
For backbone staff:
  digest [period] [organisation]   e.g. digest, digest last week, digest 2026-10 lyon-bm
  digest export [period] [csv|xlsx]
  digest chart [period] [organisation]   response by week, and measures against targets
  star <id> | unstar <id>   put an answer at the top of the digest's highlights
                          (or react ⭐ to the answer where you can see it)
  installs                which organisations have installed the bot in their workspace
  partners [period]       the partnership map (partners export [period]: CSV and GraphML)
  agenda [period]         a draft agenda for the steering meeting
  decision <text>         mark what the next steering meeting must decide""")
HELP_ADMIN = _("""\
For admins:
  campaign list
  campaign pause <key> | resume <key>
  campaign preview <key>  the next sends per time zone
  audit [n] [action]      who did what: the latest staff and admin actions""")


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
    how_to_type: Text | str = ""
    """How commands are typed on the platform the command came from (atop the help)."""
    help_prefix: str = ""
    """Written before each command word the help lists on that platform (``!`` on Matrix)."""

    def tr(self, text: Text | str) -> str:
        """``text`` in the member's language."""
        return translate(text, self.member.locale)

    def reply(self, text: Text | str, **details: Any) -> Reply:
        """A reply to the member, in their language (``details``: the other Reply fields)."""
        return Reply(self.tr(text), **details)


def help_text(role: str, how_to_type: Text | str = "", locale: str = "en", prefix: str = "") -> str:
    """The help for a member of ``role``, in ``locale``'s language, each command word written
    after ``prefix`` as its platform wants it typed."""
    lists = [HELP_MEMBER]
    if Role(role).is_staff:
        lists.append(HELP_STAFF)
    if role == Role.ADMIN.value:
        lists.append(HELP_ADMIN)
    parts = [how_to_type, *lists] if how_to_type else lists
    said = [translate(part, locale) for part in parts]
    listed = [
        text if i < len(parts) - len(lists) else _prefixed(text, prefix)
        for i, text in enumerate(said)
    ]
    return "\n".join(["\n\n".join(listed[:2]), *listed[2:]])


_LISTED_WORD = re.compile(r"(^  |\| )([a-z-]+)", re.MULTILINE)


def _prefixed(text: str, prefix: str) -> str:
    """``  checkin <answer>`` as ``  !checkin <answer>`` (and after a ``| ``)."""
    if not prefix:
        return text
    return _LISTED_WORD.sub(
        lambda m: m.group(1) + (prefix if m.group(2) in COMMAND_WORDS else "") + m.group(2), text
    )


def _help_for(ctx: CommandContext) -> str:
    return help_text(ctx.member.role, ctx.how_to_type, ctx.member.locale, ctx.help_prefix)


async def run_command(ctx: CommandContext, name: str, args: str) -> list[Reply]:
    handler = _COMMANDS.get(name.lower().lstrip("/!"))
    if handler is None:
        unknown = _("I don't know the command “{command}”.", command=quote(name))
        return [Reply(f"{ctx.tr(unknown)}\n\n{_help_for(ctx)}")]
    return await handler(ctx, args.strip())


async def _help(ctx: CommandContext, args: str) -> list[Reply]:
    return [Reply(_help_for(ctx))]


async def _checkin(ctx: CommandContext, args: str) -> list[Reply]:
    delivery = await latest_open(ctx.session, ctx.member, ctx.now)
    if delivery is None:
        raise UserError(_("You have no open question right now. Thank you, you are up to date!"))
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
        waiting = _("Waiting for your answer:")
        how = _("Answer with: checkin <your answer>")
        return [Reply(f"{ctx.tr(waiting)}\n{text}{options}\n\n{ctx.tr(how)}")]

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
                _(
                    "That message is not a question of yours, so nothing was skipped. To skip "
                    "the question waiting for you, use Skip on it, or send skip in our direct "
                    "chat."
                )
            )
        if not await still_open(ctx.session, delivery, ctx.now):
            raise UserError(
                _(
                    "That question is no longer open (answered, skipped or too old), so "
                    "nothing was skipped."
                )
            )
    else:
        delivery = await latest_open(ctx.session, ctx.member, ctx.now)
    if delivery is None:
        raise UserError(_("There is nothing to skip: no question is waiting for you."))
    delivery.status = DeliveryStatus.SKIPPED.value
    delivery.remind_at = None
    delivery.turn_until = None
    await ctx.session.flush()
    await take_turns(ctx.session, ctx.now, {ctx.member.id})  # the next question, if one waits
    return [ctx.reply(_("Skipped this time; no reminders will follow for it."))]


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
                _(
                    "Tell me which check-in to delete by its number, e.g. “mydata delete 12” "
                    "(the numbers are in “mydata”)."
                )
            )
        checkin = await s.get(CheckIn, number)
        if checkin is None or checkin.member_id != member.id:
            raise UserError(digest_commands.no_such_checkin(number))
        await audit.by_member(
            s,
            member,
            at=ctx.now,
            action="delete",
            object_kind="checkin",
            object_id=checkin.id,
            detail={"prompt": checkin.prompt_id, "period": checkin.period_key},
        )
        await forget_checkin(s, checkin, ctx.files_dirs, ctx.now)
        await s.execute(delete(CheckInRevision).where(CheckInRevision.checkin_id == checkin.id))
        await s.delete(checkin)
        return [ctx.reply(_("Deleted your check-in #{id} and its history.", id=checkin.id))]
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
            ctx.tr(_("Your check-ins")),
        )
        attached = ngettext(
            "Your {n} check-in is attached.", "Your {n} check-ins are attached.", len(rows)
        )
        return [ctx.reply(attached, attachments=(file,))]
    if words:
        raise UserError(_("mydata takes nothing, “export”, or “delete <id>”."))
    if not rows:
        return [ctx.reply(_("You have no check-ins yet."))]
    edited = ctx.tr(_("(edited)"))
    lines = [
        ctx.tr(_("{label}: {value}", label=_line_label(c), value=quote(c.answer_text, 80)))
        + (f" {edited}" if c.edited_at else "")
        for c in rows[:20]
    ]
    more = ngettext(
        "…and {n} more (mydata export).", "…and {n} more (mydata export).", len(rows) - 20
    )
    extra = f"\n{ctx.tr(more)}" if len(rows) > 20 else ""
    head = ngettext("Your {n} check-in:", "Your {n} check-ins, newest first:", len(rows))

    return [ctx.reply(head, quoted="\n".join(lines) + extra)]


def _line_label(checkin: CheckIn) -> str:
    return f"#{checkin.id} {checkin.period_key} {checkin.prompt_id}"


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
    "campaign": campaign_command,
    "audit": audit.command,
    "installs": reach.installs_command,
    "link": partner_commands.link,
    "partners": partner_commands.partners,
    "agenda": agenda.agenda,
    "decision": agenda.decision,
}

__all__ = ["CommandContext", "help_text", "run_command", "Any"]
