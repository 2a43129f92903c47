"""The prompts an alliance uses, as stored when its file was loaded."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.prompts import PromptDef
from bot.storage import models as m


async def load_prompts(s: AsyncSession) -> dict[str, PromptDef]:
    rows = (await s.scalars(select(m.Prompt))).all()
    return {row.id: PromptDef.model_validate(row.definition) for row in rows}
