"""Highlights for staff (starred answers, else the latest) and answers grouped by exercise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.model import Answer, ExerciseGroup, SharedPost
from bot.domain.periods import Period
from bot.domain.prompts import PromptDef
from bot.domain.values import PromptKind
from bot.storage import models as m
from bot.storage.records import CheckIn

RECENT = 5
PER_GROUP = 12


def _query(start: datetime, end: datetime, organisation: str | None) -> Any:
    query = (
        select(
            CheckIn.id,
            m.Organisation.name,
            m.Member.display_name,
            m.Prompt.definition,
            CheckIn.answer_text,
            CheckIn.starred,
            CheckIn.prompt_id,
        )
        .join(m.Member, m.Member.id == CheckIn.member_id)
        .join(m.Organisation, m.Organisation.id == CheckIn.organisation_id)
        .join(m.Prompt, m.Prompt.id == CheckIn.prompt_id)
        .where(
            CheckIn.answered_at >= start,
            CheckIn.answered_at < end,
            m.Prompt.kind == PromptKind.EXERCISE.value,
        )
    )
    if organisation:
        query = query.where(m.Organisation.slug == organisation)
    return query


def _answer(row: Any) -> Answer:
    cid, org, member, definition, text, starred, _ = row
    prompt = PromptDef.model_validate(definition).text_for("en")
    return Answer(cid, org, member, prompt, text, bool(starred))


async def highlights(
    s: AsyncSession, start: datetime, end: datetime, organisation: str | None
) -> tuple[tuple[Answer, ...], bool]:
    """Starred answers of the period; when none are starred, the most recent ones."""
    starred = (
        await s.execute(
            _query(start, end, organisation)
            .where(CheckIn.starred)
            .order_by(CheckIn.answered_at.desc())
            .limit(20)
        )
    ).all()
    if starred:
        return tuple(_answer(r) for r in starred), True
    recent = (
        await s.execute(
            _query(start, end, organisation)
            .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
            .limit(RECENT)
        )
    ).all()
    return tuple(_answer(r) for r in recent), False


def _group(rows: list[Any]) -> tuple[ExerciseGroup, ...]:
    groups: dict[str, list[Answer]] = {}
    prompts: dict[str, str] = {}
    for row in rows:
        answer = _answer(row)
        prompt_id = row[6]
        prompts[prompt_id] = answer.prompt
        if len(groups.setdefault(prompt_id, [])) < PER_GROUP:
            groups[prompt_id].append(answer)
    return tuple(
        ExerciseGroup(pid, prompts[pid], tuple(answers))
        for pid, answers in sorted(groups.items(), key=lambda g: -len(g[1]))
    )


async def exercise_groups(
    s: AsyncSession, start: datetime, end: datetime, organisation: str | None
) -> tuple[ExerciseGroup, ...]:
    rows = (
        await s.execute(
            _query(start, end, organisation).order_by(CheckIn.prompt_id, m.Organisation.name)
        )
    ).all()
    return _group(list(rows))


async def shared_post(
    s: AsyncSession, period: Period, start: datetime, end: datetime
) -> SharedPost:
    """For the whole alliance: only answers whose authors said they may be shared."""
    meta = await s.get(m.Alliance, 1)
    rows = (
        await s.execute(
            _query(start, end, None)
            .where(CheckIn.shareable.is_(True))
            .order_by(CheckIn.prompt_id, m.Organisation.name)
        )
    ).all()
    return SharedPost(meta.name if meta else "alliance", period, _group(list(rows)))
