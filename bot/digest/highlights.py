"""Highlights for staff (starred answers, else the latest) and answers grouped by exercise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.model import Answer, ExerciseGroup, SharedPost
from bot.domain.periods import Period
from bot.domain.values import PromptKind
from bot.storage import models as m
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn
from bot.text import neutral

RECENT = 5
PER_GROUP = 12


def _query(start: datetime, end: datetime, organisation: str | None) -> Any:
    """Exercise answers given in the window, with who gave them (no prompt bodies: those are
    read once per digest, not once per row)."""
    exercises = select(m.Prompt.id).where(m.Prompt.kind == PromptKind.EXERCISE.value)
    query = (
        select(
            CheckIn.id,
            m.Organisation.name,
            m.Member.display_name,
            CheckIn.answer_text,
            CheckIn.starred,
            CheckIn.prompt_id,
        )
        .join(m.Member, m.Member.id == CheckIn.member_id)
        .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
        .where(
            CheckIn.answered_at >= start,
            CheckIn.answered_at < end,
            CheckIn.prompt_id.in_(exercises),
        )
    )
    if organisation:
        query = query.where(m.Organisation.slug == organisation)
    return query


async def _answers(s: AsyncSession, query: Any) -> list[Answer]:
    rows = (await s.execute(query)).all()
    if not rows:
        return []
    prompts = await load_prompts(s)
    return [
        Answer(
            cid,
            org,
            member,
            prompts[pid].text_for("en") if pid in prompts else pid,
            neutral(text),  # quoted in the bot's digest: no control may reverse its lines
            bool(starred),
            pid,
        )
        for cid, org, member, text, starred, pid in rows
    ]


async def highlights(
    s: AsyncSession, start: datetime, end: datetime, organisation: str | None
) -> tuple[tuple[Answer, ...], bool]:
    """Starred answers of the period; when none are starred, the most recent ones."""
    starred = await _answers(
        s,
        _query(start, end, organisation)
        .where(CheckIn.starred)
        .order_by(CheckIn.answered_at.desc())
        .limit(20),
    )
    if starred:
        return tuple(starred), True
    recent = await _answers(
        s,
        _query(start, end, organisation)
        .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
        .limit(RECENT),
    )
    return tuple(recent), False


async def _grouped(s: AsyncSession, query: Any) -> tuple[ExerciseGroup, ...]:
    """At most PER_GROUP answers per exercise, chosen in SQL, most answered exercises first."""
    ranked = query.add_columns(
        func.row_number()
        .over(partition_by=CheckIn.prompt_id, order_by=(m.Organisation.name, CheckIn.id))
        .label("place"),
        func.count().over(partition_by=CheckIn.prompt_id).label("total"),
    ).subquery()
    columns = ("id", "name", "display_name", "answer_text", "starred", "prompt_id")
    rows = (
        select(*[ranked.c[name] for name in columns])
        .where(ranked.c.place <= PER_GROUP)
        .order_by(ranked.c.total.desc(), ranked.c.prompt_id, ranked.c.place)
    )
    groups: dict[str, list[Answer]] = {}
    for answer in await _answers(s, rows):
        groups.setdefault(answer.prompt_id, []).append(answer)
    return tuple(
        ExerciseGroup(pid, answers[0].prompt, tuple(answers)) for pid, answers in groups.items()
    )


async def exercise_groups(
    s: AsyncSession, start: datetime, end: datetime, organisation: str | None
) -> tuple[ExerciseGroup, ...]:
    return await _grouped(s, _query(start, end, organisation))


async def shared_post(
    s: AsyncSession, period: Period, start: datetime, end: datetime
) -> SharedPost:
    """For the whole alliance: only answers whose authors said they may be shared."""
    meta = await s.get(m.Alliance, 1)
    groups = await _grouped(s, _query(start, end, None).where(CheckIn.shareable.is_(True)))
    return SharedPost(meta.name if meta else "alliance", period, groups)
