"""Alembic environment: runs on the connection the Database hands over (async engines included)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.storage import records  # noqa: F401  (registers the tables on Base.metadata)
from bot.storage.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run migrations through `alliance-bot db upgrade`, which provides the connection."
    )
run_migrations(connection)
