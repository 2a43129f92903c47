"""The schema comes from Alembic migrations, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from bot.storage import insight, records  # noqa: F401
from bot.storage.database import Database
from bot.storage.models import Base

EXPECTED = {
    "alliance",
    "organisations",
    "members",
    "identities",
    "channels",
    "channel_addresses",
    "prompts",
    "measures",
    "measure_targets",
    "campaigns",
    "campaign_cursors",
    "digest_schedules",
    "digest_cursors",
    "deliveries",
    "outbox_files",
    "checkins",
    "checkin_revisions",
    "processed_events",
    "adapter_state",
    "audit_events",
    "installations",
    "api_tokens",
    "webhooks",
    "partnerships",
    "curve_exercises",
    "decisions",
}


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    return names - {"alembic_version"}


async def test_upgrade_from_empty_to_head_and_back(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert await _tables(db) == set()
        await db.upgrade()
        assert await _tables(db) == EXPECTED
        assert await db.is_current()
        await db.downgrade("base")
        assert await _tables(db) == set()
        assert await db.current_revision() is None
        await db.upgrade()
        assert await _tables(db) == EXPECTED
    finally:
        await db.dispose()


async def test_migrations_match_the_models(db_url: str) -> None:
    """A model changed without a migration would make the two disagree."""
    db = Database(db_url)
    try:
        await db.upgrade()

        def diff(conn: Connection) -> list[object]:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()


async def test_upgrade_twice_is_harmless(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        await db.upgrade()
        await db.upgrade()
        assert await db.is_current()
    finally:
        await db.dispose()
