"""The digest's and the agenda's insight sections, read from the database: common themes in
barrier and need answers, turn-the-curve answers by measure, and the partnership map's news."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.digest.model import Connection, CurveAnswers, Partnerships, ThemeLine
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.insight.curve import QUESTIONS
from bot.partners import graph as g
from bot.storage import models as m
from bot.storage.insight import Partnership
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, Delivery

LISTED = 10
"""Connections listed by name in a digest or an agenda; the map shows them all."""
THEMED = frozenset({"barrier", "community_needs", "shared_challenge"})
"""The practices whose answers are grouped by theme."""


def _themes(answers: list[Any]) -> list[Any]:
    from bot.insight.themes import common_themes  # scikit-learn: loaded when first needed

    return common_themes(answers)


async def themes_for(
    s: AsyncSession, start: datetime, end: datetime, organisation: str | None = None
) -> tuple[ThemeLine, ...]:
    prompts = await load_prompts(s)
    ids = [pid for pid, p in prompts.items() if p.practice in THEMED]
    if not ids:
        return ()
    query = (
        select(
            CheckIn.id,
            m.Organisation.slug,
            m.Organisation.name,
            CheckIn.answer_text,
            m.Member.locale,
        )  # fmt: skip
        .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
        .join(m.Member, m.Member.id == CheckIn.member_id)
        .where(
            CheckIn.prompt_id.in_(ids),
            CheckIn.answered_at >= start,
            CheckIn.answered_at < end,
            CheckIn.answer_text != "",
        )
        .order_by(CheckIn.id)
    )
    if organisation:
        query = query.where(m.Organisation.slug == organisation)
    rows = (await s.execute(query)).all()
    if len(rows) < 2:
        return ()
    from bot.insight.themes import Answer

    answers = [Answer(cid, slug, text, locale or "en") for cid, slug, _n, text, locale in rows]
    found = await asyncio.to_thread(_themes, answers)
    texts = {cid: (text, name) for cid, _s, name, text, _l in rows}
    return tuple(
        ThemeLine(
            t.key,
            dict(t.label),
            len(t.organisations),
            len(t.answers),
            texts[t.representative][0],
            texts[t.representative][1],
            t.representative,
        )
        for t in found
    )


async def curves_for(s: AsyncSession, start: datetime, end: datetime) -> tuple[CurveAnswers, ...]:
    """Turn-the-curve answers given from the quarter's start to the period's end."""
    quarter = Period.containing(start.date(), PeriodKind.QUARTER).start
    since = datetime.combine(quarter, datetime.min.time(), start.tzinfo)
    rows = (
        await s.execute(
            select(CheckIn.prompt_id, CheckIn.answer_text, Delivery.payload, m.Organisation.name)
            .join(Delivery, Delivery.id == CheckIn.delivery_id)
            .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
            .where(
                CheckIn.prompt_id.in_(QUESTIONS),
                CheckIn.answered_at >= since,
                CheckIn.answered_at < end,
            )
            .order_by(CheckIn.id)
        )
    ).all()
    names = dict((await s.execute(select(m.Measure.id, m.Measure.name))).all())
    grouped: dict[tuple[str, str], dict[str, str]] = {}
    for prompt, text, payload, org in rows:
        measure = names.get(int((payload or {}).get("curve", 0)))
        if measure is not None and text:
            grouped.setdefault((measure, org), {})[prompt] = text
    return tuple(
        CurveAnswers(measure, org, tuple((q, said[q]) for q in QUESTIONS if q in said))
        for (measure, org), said in sorted(grouped.items())
    )


async def partnerships_for(s: AsyncSession, start: datetime, end: datetime) -> Partnerships:
    """Connections named in the period, those that stalled, and who has none by its end."""
    source, target = aliased(m.Organisation), aliased(m.Organisation)
    rows = (
        await s.execute(
            select(Partnership, source.slug, source.name, target.slug, target.name)
            .join(source, source.id == Partnership.source_org_id)
            .outerjoin(target, target.id == Partnership.target_org_id)
            .where(Partnership.reported_at < end)
            .order_by(Partnership.id)
        )
    ).all()
    if not rows:
        return Partnerships()
    members = (
        await s.execute(
            select(m.Organisation.slug, m.Organisation.name)
            .where(m.Organisation.active)
            .order_by(m.Organisation.name)
        )
    ).all()
    names = dict(members)
    edges, fresh = [], []
    for edge, from_slug, from_name, to_slug, to_name in rows:
        key = to_slug or g.external_key(edge.target_name)
        names.setdefault(key, to_name or edge.target_name)
        names.setdefault(from_slug, from_name)
        state = g.EdgeState(edge.state)
        found = g.Edge(from_slug, key, edge.kind, state, edge.reported_at.date(), edge.checkin_id)
        edges.append(found)
        if state is not g.EdgeState.DECLINED and edge.reported_at >= start:
            fresh.append(found)
    built = g.build([g.Node(slug, name, False) for slug, name in members], edges)
    new = _by_pair(fresh)
    late = g.stalled(edges, today=_day(end))
    return Partnerships(
        new=tuple(_line(names, e) for e in new[:LISTED]),
        stalled=tuple(_line(names, e) for e in late[:LISTED]),
        unconnected=tuple(names[k] for k in g.unconnected(built, [slug for slug, _ in members])),
        total=len({tuple(sorted((a, b))) for a, b in built.edges()}),
        more_new=max(0, len(new) - LISTED),
        more_stalled=max(0, len(late) - LISTED),
    )


def _by_pair(edges: list[g.Edge]) -> list[g.Edge]:
    """One line per pair of organisations, in its most advanced state, most advanced first."""
    best: dict[tuple[str, str], g.Edge] = {}
    for edge in edges:
        pair = (min(edge.source, edge.target), max(edge.source, edge.target))
        held = best.get(pair)
        if held is None or g.PROGRESS.index(edge.state) < g.PROGRESS.index(held.state):
            best[pair] = edge
    return sorted(best.values(), key=lambda e: (g.PROGRESS.index(e.state), e.on, e.source))


def _line(names: dict[str, str], e: g.Edge) -> Connection:
    external = e.target.startswith(g.EXTERNAL_PREFIX)
    return Connection(names[e.source], names[e.target], external, e.state.value, e.on.isoformat())


def _day(moment: datetime) -> date:
    return moment.date()
