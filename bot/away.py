"""``away`` and ``back``: a member says they are away, and is not chased meanwhile.

Only the member themselves: the commands act on whoever types them (the alliance file sets
absences for others). While a member is away the planner gives them no prompt (a SKIPPED
delivery, which the digest counts neither answered nor missing) and the reminders pass them by;
see ``bot/scheduling/absence.py``. Not audited: it is a member's own availability, not a staff
action nor a change to what they told the bot.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.domain.absence import is_away, parse_absence
from bot.domain.errors import UserError
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.i18n import Day, Text, _
from bot.ports import Reply
from bot.storage import models as m
from bot.storage.records import Delivery

if TYPE_CHECKING:
    from bot.commands import CommandContext


async def _today(ctx: CommandContext) -> date:
    """Today where the member is (their zone, else the alliance's)."""
    zone = ctx.member.timezone
    if not zone:
        meta = await ctx.session.get(m.Alliance, 1)
        zone = meta.default_timezone if meta else "UTC"
    return ctx.now.astimezone(ZoneInfo(zone)).date()


def _state(member: m.Member, today: date) -> Text:
    start, until = member.away_from, member.away_until
    if until is None or until < today:
        return _(
            "You are not marked away: questions come as usual. To say you are away, type "
            "e.g. “away until 2026-12-24” or “away 2w”."
        )
    if start is not None and start > today:
        return _(
            "You will be away from {start} until {until} (included).",
            start=Day(start),
            until=Day(until),
        )
    return _(
        "You are away until {until} (included). Type “back” when you return.", until=Day(until)
    )


async def away(ctx: CommandContext, args: str) -> list[Reply]:
    """``away`` says whether the member is away; ``away until <date>``, ``away <date>`` and
    ``away 2w`` mark them away from today to that day (included); ``away from <date> until
    <date>`` marks an absence to come."""
    today = await _today(ctx)
    if not args:
        return [ctx.reply(_state(ctx.member, today))]
    start, until = parse_absence(args, today)
    ctx.member.away_from, ctx.member.away_until = start, until
    if start > today:  # what is queued now is still asked
        later = _(
            "Noted: you will be away from {start} until {until} (included). No questions or "
            "reminders will come then; type “back” to cancel it.",
            start=Day(start),
            until=Day(until),
        )
        return [ctx.reply(later)]
    await _hold_back(ctx)
    noted = _(
        "Noted: you are away until {until} (included). No questions or reminders will come "
        "until then; type “back” if you return earlier.",
        until=Day(until),
    )
    return [ctx.reply(noted)]


async def back(ctx: CommandContext, args: str) -> list[Reply]:
    """``back`` ends the member's absence (or cancels one still to come)."""
    if args:
        raise UserError(
            _(
                "“back” takes nothing after it: send just “back”. To answer a question with "
                "these words, use “checkin <your answer>”."
            )
        )
    member, today = ctx.member, await _today(ctx)
    start, until = member.away_from, member.away_until
    member.away_from = member.away_until = None
    if is_away(today, start, until):
        return [ctx.reply(_("Welcome back: prompts resume with the next run."))]
    if start is not None and until is not None and until >= today:
        cancelled = _(
            "Your absence from {start} until {until} is cancelled: questions come as usual.",
            start=Day(start),
            until=Day(until),
        )
        return [ctx.reply(cancelled)]
    return [ctx.reply(_("You were not marked away, so nothing changed: questions come as usual."))]


async def _hold_back(ctx: CommandContext) -> None:
    """What is queued for the member and not sent yet stays unsent: their reminders are
    cancelled and their prompts skipped (counted neither answered nor missing)."""
    queued = (
        Delivery.member_id == ctx.member.id,
        Delivery.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.QUEUED.value]),
    )
    await ctx.session.execute(
        update(Delivery)
        .where(*queued, Delivery.kind == DeliveryKind.REMINDER.value)
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
    )
    await ctx.session.execute(
        update(Delivery)
        .where(*queued, Delivery.kind == DeliveryKind.PROMPT.value)
        .values(status=DeliveryStatus.SKIPPED.value, next_attempt_at=None)
    )
