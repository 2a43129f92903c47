"""Inserts that skip rows whose unique key exists already, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Base


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], key: str
) -> int:
    """Insert ``rows``; those whose ``key`` exists are left alone. Returns how many were new.

    A Core INSERT on the table, executed with one list of parameter sets per set of columns:
    SQLAlchemy sends each list as multi-row VALUES pages (insertmanyvalues), so the statements
    grow with the rows, never with how often their NULL columns change. (The ORM's bulk path,
    ``insert(model)``, starts a new statement whenever the None-valued columns differ from the
    row before: a holiday alternating SKIPPED and PENDING rows made one statement a row.)

    As with the ORM, a missing or None value leaves a column with a default to that default;
    a None in any other column is stored as NULL.
    """
    if not rows:
        return 0
    table = cast(Table, model.__table__)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    created = 0
    for uniform in _by_columns(table, rows):
        result = await session.execute(statement, uniform)
        created += len(result.all())
    return created


def _by_columns(table: Table, rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rows grouped by the columns they set (in order of first appearance), each row
    with every key of its group: callers build rows alike, so this is one group, or two."""
    defaulted = {
        column.key
        for column in table.columns
        if column.default is not None or column.server_default is not None
    }
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        present = {
            name: value for name, value in row.items() if value is not None or name not in defaulted
        }
        groups.setdefault(frozenset(present), []).append(present)
    return list(groups.values())


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
