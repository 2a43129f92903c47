"""Inserts that skip rows whose unique key exists already, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Base


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], key: str
) -> int:
    """Insert ``rows``; those whose ``key`` exists are left alone. Returns how many were new.

    One cached statement executed many times (SQLAlchemy batches it into multi-row VALUES),
    not a statement compiled per chunk.
    """
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = sorted({name for row in rows for name in row})
    uniform = [{name: row.get(name) for name in columns} for row in rows]
    statement = (
        insert(model).on_conflict_do_nothing(index_elements=[key]).returning(getattr(model, key))
    )
    result = await session.execute(statement, uniform)
    return len(result.all())


async def claim_once(
    session: AsyncSession, model: type[Base], row: dict[str, Any], key: Sequence[str]
) -> bool:
    """Insert ``row`` unless its unique ``key`` exists: True the first time only (one statement,
    no read-then-write race)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(model)
        .values(row)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(getattr(model, key[0]))
    )
    return (await session.execute(statement)).first() is not None
