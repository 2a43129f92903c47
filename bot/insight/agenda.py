"""``agenda [period]`` for staff: a one-page draft of the steering meeting as Markdown, posted
in the chat and attached as a file; and ``decision``, to mark what the meeting must decide.

The sections, in order: measures off track with their turn-the-curve answers, quiet
organisations, common themes, new and stalled connections, starred answers, and the
decisions staff marked. Every figure is the digest's (``compute_digest``)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jinja2 import PackageLoader
from sqlalchemy import select

from bot import audit
from bot.digest.compute import compute_digest
from bot.digest.model import Digest
from bot.digest.periods import parse_digest_period
from bot.digest.render import digest_environment
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import PeriodKind, Role
from bot.i18n import _
from bot.ports import Attachment, Reply
from bot.storage import models as m
from bot.storage.insight import Decision
from bot.text import parse_id

if TYPE_CHECKING:
    from bot.commands import CommandContext

STAFF_ONLY = _("The steering agenda is for the backbone team.")
QUIET_RATE = 0.5
"""Below this response rate an organisation is listed as quiet on the agenda."""


def render(d: Digest, decisions: list[dict[str, Any]], locale: str, today: date) -> str:
    env = digest_environment(PackageLoader("bot.insight", "templates"), locale, autoescape=False)
    off_track = [ms for ms in d.measures if ms.share is not None and ms.share < 1]
    quiet = [r for r in d.responses if r.quiet or (r.rate is not None and r.rate < QUIET_RATE)]
    starred = [a for a in d.highlights if a.starred] if d.highlights_are_starred else []
    return (
        env.get_template("agenda.md.j2")
        .render(
            d=d,
            off_track=off_track,
            quiet=quiet,
            starred=starred,
            decisions=decisions,
            today=today.isoformat(),
        )
        .strip()
        + "\n"
    )


async def _today(ctx: CommandContext) -> date:
    meta = await ctx.session.get(m.Alliance, 1)
    return ctx.now.astimezone(ZoneInfo(meta.default_timezone if meta else "UTC")).date()


async def _open_decisions(ctx: CommandContext) -> list[dict[str, Any]]:
    rows = (
        await ctx.session.execute(
            select(Decision.id, Decision.text, m.Member.display_name)
            .outerjoin(m.Member, m.Member.id == Decision.member_id)
            .where(Decision.done_at.is_(None))
            .order_by(Decision.id)
        )
    ).all()
    return [{"id": i, "text": text, "by": who or "?"} for i, text, who in rows]


async def agenda(ctx: CommandContext, args: str) -> list[Reply]:
    if not Role(ctx.member.role).is_staff:
        raise UserError(STAFF_ONLY)
    today = await _today(ctx)
    text = args.strip()
    period = (
        parse_digest_period(text, today) if text else Period.containing(today, PeriodKind.MONTH)
    )
    d = await compute_digest(ctx.session, period)
    page = render(d, await _open_decisions(ctx), ctx.member.locale, today)
    await audit.by_member(ctx.session, ctx.member, at=ctx.now, action="agenda",
                          object_kind="period", object_id=period.key)  # fmt: skip
    name = f"agenda-{period.key}.md"
    title = ctx.tr(_("Steering agenda for {period}", period=period.label(ctx.member.locale)))
    draft = Attachment(name, page.encode("utf-8"), "text/markdown", title=title)
    return [Reply(page, title=title, attachments=(draft,), private=True)]


DECISION_USAGE = _(
    "Type “decision <what the meeting must decide>” to add one, “decision” to list them, and "
    "“decision done <id>” once it is decided."
)


async def decision(ctx: CommandContext, args: str) -> list[Reply]:
    if not Role(ctx.member.role).is_staff:
        raise UserError(STAFF_ONLY)
    words = args.split()
    s = ctx.session
    if not words:
        open_ = await _open_decisions(ctx)
        if not open_:
            return [ctx.reply(_("No decision is waiting. {usage}", usage=DECISION_USAGE))]
        lines = "\n".join(f"#{x['id']} {x['text']} ({x['by']})" for x in open_)
        return [ctx.reply(_("Decisions for the next steering meeting:"), quoted=lines)]
    if words[0].lower() in ("done", "remove") and len(words) == 2:
        number = parse_id(words[1])
        found = await s.get(Decision, number) if number else None
        if found is None or found.done_at is not None:
            raise UserError(_("No open decision has the number {id}.", id=words[1]))
        found.done_at = ctx.now
        await audit.by_member(s, ctx.member, at=ctx.now, action="decision-done",
                              object_kind="decision", object_id=found.id)  # fmt: skip
        return [ctx.reply(_("Decision #{id} is off the agenda.", id=found.id))]
    text = args.strip()
    if len(text) > 500:
        raise UserError(_("Keep a decision under 500 characters; the agenda lists it in one line."))
    today = await _today(ctx)
    row = Decision(
        text=text,
        member_id=ctx.member.id,
        period_key=Period.containing(today, PeriodKind.MONTH).key,
        created_at=ctx.now,
    )
    s.add(row)
    await s.flush()
    await audit.by_member(s, ctx.member, at=ctx.now, action="decision",
                          object_kind="decision", object_id=row.id)  # fmt: skip
    return [ctx.reply(_("Decision #{id} is on the next agenda.", id=row.id))]
