"""``link`` (a member confirms or corrects how their answer was read) and ``partners`` (staff:
the map for a period as a picture, with who has no connection and what stalled, or as CSV
and GraphML)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import aliased

from bot import audit
from bot.digest.periods import parse_digest_period
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import PeriodKind, Role
from bot.i18n import _
from bot.partners import graph as g
from bot.partners.draw import draw_png
from bot.partners.store import confirm, known, pairs, record, typed_names
from bot.partners.words import alt_text
from bot.ports import Attachment, Reply
from bot.storage import models as m
from bot.storage.insight import Partnership
from bot.storage.records import CheckIn
from bot.text import parse_id

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.commands import CommandContext

LINK_USAGE = _(
    "Type “link <id> ok” if I read your answer right, “link <id> none” if it names no "
    "organisation, or “link <id> <the organisations' names>”, e.g. link 12 Red Conecta, BML."
)
STAFF_ONLY = _("The partnership map is for the backbone team.")


async def link(ctx: CommandContext, args: str) -> list[Reply]:
    words = args.split(maxsplit=1)
    number = parse_id(words[0]) if words else None
    if number is None or len(words) < 2:
        raise UserError(LINK_USAGE)
    s = ctx.session
    checkin = await s.get(CheckIn, number)
    if checkin is None or checkin.member_id != ctx.member.id:
        raise UserError(_("You have no check-in #{id}; “mydata” lists yours.", id=number))
    edges = (await s.scalars(select(Partnership).where(Partnership.checkin_id == number))).all()
    rest = words[1].strip()
    if rest.lower() in ("ok", "yes", "oui", "sí", "si"):
        if not edges:
            raise UserError(_("I read no organisation in check-in #{id}.", id=number))
        await confirm(s, number, ctx.now, right=True)
        return [ctx.reply(_("Thank you: the connection is on the map."))]
    if rest.lower() in ("none", "no", "non"):
        await confirm(s, number, ctx.now, right=False)
        return [ctx.reply(_("Understood: check-in #{id} names no connection.", id=number))]
    practice = edges[0].kind if edges else "partner"
    own = await s.scalar(
        select(m.Organisation.slug).where(m.Organisation.id == ctx.member.organisation_id)
    )
    names = typed_names(rest, await known(s), own or "")
    if not names:
        raise UserError(LINK_USAGE)
    found = pairs(practice, own or "", names)
    await record(s, ctx.now, checkin_id=number, member=ctx.member, practice=practice,
                 found=found, state=g.EdgeState.CONFIRMED, member_typed=True)  # fmt: skip
    shown = ", ".join(n.name for n in names)
    return [ctx.reply(_("Thank you: the map now shows a connection with {names}.", names=shown))]


async def map_data(
    s: AsyncSession, until: date | None
) -> tuple[list[g.Node], list[g.Edge], list[str]]:
    """Every member organisation, and the connections named up to ``until`` (all, if None)."""
    orgs = (
        await s.execute(
            select(m.Organisation.slug, m.Organisation.name)
            .where(m.Organisation.active)
            .order_by(m.Organisation.name)
        )
    ).all()
    nodes = [g.Node(slug, name, False) for slug, name in orgs]
    source, target = aliased(m.Organisation), aliased(m.Organisation)
    query = (
        select(Partnership, source.slug, target.slug)
        .join(source, source.id == Partnership.source_org_id)
        .outerjoin(target, target.id == Partnership.target_org_id)
        .order_by(Partnership.id)
    )
    edges = []
    for edge, from_slug, to_slug in (await s.execute(query)).all():
        on = edge.reported_at.date()
        if until is not None and on > until:
            continue
        key = to_slug or g.external_key(edge.target_name)
        if to_slug is None:
            nodes.append(g.Node(key, edge.target_name, True))
        edges.append(
            g.Edge(from_slug, key, edge.kind, g.EdgeState(edge.state), on, edge.checkin_id)
        )
    unique = list({n.key: n for n in nodes}.values())
    return unique, edges, [slug for slug, _ in orgs]


async def _period(ctx: CommandContext, words: list[str]) -> tuple[Period, date]:
    meta = await ctx.session.get(m.Alliance, 1)
    today = ctx.now.astimezone(ZoneInfo(meta.default_timezone if meta else "UTC")).date()
    if not words:
        return Period.containing(today, PeriodKind.QUARTER), today
    return parse_digest_period(" ".join(words), today), today


async def partners(ctx: CommandContext, args: str) -> list[Reply]:
    if not Role(ctx.member.role).is_staff:
        raise UserError(STAFF_ONLY)
    words = args.split()
    export = words[:1] == ["export"]
    kinds = [w for w in words[1:] if w in ("csv", "graphml")] if export else []
    words = [w for w in (words[1:] if export else words) if w not in ("csv", "graphml")]
    period, today = await _period(ctx, words)
    until = min(period.end - timedelta(days=1), today)
    nodes, edges, members = await map_data(ctx.session, until)
    await audit.by_member(ctx.session, ctx.member, at=ctx.now, action="partners",
                          object_kind="period", object_id=period.key)  # fmt: skip
    built = g.build(nodes, edges)
    name = f"partnerships-{period.key}"
    if export:
        files = []
        if not kinds or "csv" in kinds:
            text = g.to_csv(edges, nodes)
            files.append(Attachment(f"{name}.csv", text.encode("utf-8-sig"), "text/csv"))
        if not kinds or "graphml" in kinds:
            data = g.to_graphml(built)
            files.append(Attachment(f"{name}.graphml", data, "application/graphml+xml"))
        said = _("The partnership map to {period}, as {files}.", period=period.key,
                 files=", ".join(f.filename for f in files))  # fmt: skip
        return [ctx.reply(said, attachments=tuple(files), private=True)]
    locale = ctx.member.locale
    title = ctx.tr(_("Partnership map to {period}", period=period.label(locale)))
    png = await asyncio.to_thread(draw_png, built, title=title, locale=locale)
    alt = alt_text(built, locale)
    lines = [alt]
    lonely = g.unconnected(built, members)
    names = {n.key: n.name for n in nodes}
    if lonely:
        listed = ", ".join(names.get(k, k) for k in lonely)
        lines.append(ctx.tr(_("No connection yet: {names}", names=listed)))
    late = g.stalled(edges, today=today)
    if late:
        shown = "; ".join(f"{names.get(e.source, e.source)} ↔ {names.get(e.target, e.target)} "
                          f"({e.on.isoformat()})" for e in late[:10])  # fmt: skip
        lines.append(ctx.tr(_("Stalled: {connections}", connections=shown)))
    lines.append(ctx.tr(_("“partners export” gives the map as CSV and GraphML.")))
    picture = Attachment(f"{name}.png", png, "image/png", title=title, alt=alt)
    return [Reply("\n".join(lines), title=title, attachments=(picture,), private=True)]
