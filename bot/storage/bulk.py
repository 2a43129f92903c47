"""Inserts that skip rows whose unique key exists already, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Base

CHUNK = 500


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], key: str
) -> int:
    """Insert ``rows``; those whose ``key`` exists are left alone. Returns how many were new."""
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    added = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        statement = insert(model).values(chunk).on_conflict_do_nothing(index_elements=[key])
        result = await session.execute(statement)
        added += max(int(getattr(result, "rowcount", 0) or 0), 0)
    return added
