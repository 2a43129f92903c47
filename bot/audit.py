"""The audit log: who did what, when, and on which object.

Every staff and admin action leaves a row (campaign pause and resume, stars, digests and their
exports, alliance loads), and so do a member's sharing and deletions. A row is written in the
same transaction as the action, so one never stands without the other. It names objects by kind
and id, never by their text: an answer's words are not copied here. Admins read it with
``audit``; nobody else can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import UserError
from bot.domain.values import Role
from bot.i18n import Number, _
from bot.ports import Reply
from bot.storage import models as m
from bot.storage.records import AuditEvent
from bot.text import ascii_digits, parse_id, quote

if TYPE_CHECKING:
    from bot.commands import CommandContext

Detail = Mapping[str, str | int | float | bool | None]
"""Names, ids and figures about an action; never a member's words."""

MAX_DETAIL_TEXT = 120
"""The longest text a detail value may hold: enough for a key or a period, too short for an
answer (a longer one is a mistake in the caller, refused before anything is stored)."""
SHOWN = 20
"""How many entries ``audit`` shows when not told."""
MOST_SHOWN = 200
"""The most ``audit <n>`` shows at once."""

ADMINS_ONLY = _(
    "The audit log is for the alliance's admins. Ask one of them if you need to know who "
    "changed something."
)


async def record(
    s: AsyncSession,
    *,
    at: datetime,
    actor_member_id: int | None,
    actor: str,
    action: str,
    object_kind: str,
    object_id: str | None,
    detail: Detail | None = None,
) -> None:
    """Add one audit row to ``s``: it is committed with the action it records, or not at all.

    ``actor`` is the member's handle, or what acted when no member did (``cli``, ``startup``);
    ``action`` a short verb (``pause``, ``star``, ``delete``...); the object is named by its
    kind (``campaign``, ``checkin``, ``alliance``...) and id.
    """
    values = dict(detail or {})
    for key, value in values.items():
        if isinstance(value, str) and len(value) > MAX_DETAIL_TEXT:
            raise ValueError(f"audit detail {key!r} is text, not a name or figure")
    s.add(
        AuditEvent(
            at=at,
            actor_member_id=actor_member_id,
            actor=actor[:255],
            action=action[:32],
            object_kind=object_kind[:32],
            object_id=None if object_id is None else object_id[:255],
            detail=values,
        )
    )


async def by_member(
    s: AsyncSession,
    member: m.Member,
    *,
    at: datetime,
    action: str,
    object_kind: str,
    object_id: str | int | None,
    detail: Detail | None = None,
) -> None:
    """:func:`record` for an action a member took."""
    await record(
        s,
        at=at,
        actor_member_id=member.id,
        actor=member.handle,
        action=action,
        object_kind=object_kind,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )


@dataclass(frozen=True)
class Page:
    """The newest entries (``word``: only those of that action or object kind)."""

    entries: Sequence[AuditEvent]
    total: int
    word: str | None


async def latest(s: AsyncSession, limit: int, word: str | None = None) -> Page:
    where = [] if word is None else [(AuditEvent.action == word) | (AuditEvent.object_kind == word)]
    newest = AuditEvent.at.desc(), AuditEvent.id.desc()
    rows = await s.scalars(select(AuditEvent).where(*where).order_by(*newest).limit(limit))
    total = await s.scalar(select(func.count(AuditEvent.id)).where(*where))
    return Page(rows.all(), int(total or 0), word)


async def recorded_actions(s: AsyncSession) -> list[str]:
    return sorted((await s.scalars(select(AuditEvent.action).distinct())).all())


def describe(entry: AuditEvent) -> str:
    """One entry as a line: ``#7 2026-11-23 08:01 UTC · ada · pause campaign figures``."""
    when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    target = entry.object_kind + (f" {entry.object_id}" if entry.object_id else "")
    detail = ", ".join(f"{k}: {v}" for k, v in entry.detail.items())
    text = f"#{entry.id} {when} · {entry.actor} · {entry.action} {target}"
    return quote(text + (f" ({detail})" if detail else ""), 300)


def parse_request(args: str) -> tuple[int, str | None]:
    """``audit``, ``audit 50``, ``audit pause``, ``audit pause 50``: how many, and which."""
    count: int | None = None
    word: str | None = None
    for part in args.split():
        if ascii_digits(part.removeprefix("#")).isdigit():
            number = parse_id(part)
            if number is None or count is not None:
                raise UserError(
                    _(
                        "Give one number of entries, from 1 to {most}: e.g. “audit 50”.",
                        most=MOST_SHOWN,
                    )
                )
            count = number
        elif word is None:
            word = part.lower()
        else:
            raise UserError(
                _("Use: audit | audit <how many> | audit <action>, e.g. “audit pause 50”.")
            )
    return min(count or SHOWN, MOST_SHOWN), word


async def command(ctx: CommandContext, args: str) -> list[Reply]:
    """``audit [n] [action]``: the newest entries, for admins only."""
    if ctx.member.role != Role.ADMIN.value:
        raise UserError(ADMINS_ONLY)
    limit, word = parse_request(args)
    page = await latest(ctx.session, limit, word)
    if not page.entries:
        if word is None:
            empty = _("The audit log is empty: no staff or admin action is recorded yet.")
            return [ctx.reply(empty)]
        known = ", ".join(await recorded_actions(ctx.session)) or ctx.tr(_("none yet"))
        raise UserError(
            _(
                "No audit entries for “{word}”. The actions recorded: {known}.",
                word=quote(word),
                known=known,
            )
        )
    shown = len(page.entries)
    values = {"shown": Number(shown), "total": Number(page.total), "most": MOST_SHOWN}
    if word:
        head = _(
            "The audit log: the latest {shown} of {total} “{word}” entries, newest first",
            word=quote(word),
            **values,
        )
    else:
        head = _("The audit log: the latest {shown} of {total} entries, newest first", **values)
    more = _("{head} (“audit <n>” shows up to {most}):", head=head, **values)
    lines = "\n".join(describe(e) for e in page.entries)
    return [ctx.reply(more if page.total > shown else _("{head}:", head=head), quoted=lines)]
