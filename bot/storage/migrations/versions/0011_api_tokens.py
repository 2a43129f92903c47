"""tokens for the read-only HTTP API

``api_tokens`` holds one row per token made with ``alliance-bot api token create``: its name,
its role (``staff`` sees every check-in, ``reader`` only the shared ones), and the SHA-256 of
the token, never the token itself (it is shown once). ``prefix`` is the token's first
characters, enough to tell tokens apart in ``api token list``. A revoked token keeps its row
(``revoked_at``) so the list and the audit trail still name it.

``ix_checkins_shareable`` lets a reader's page of shared check-ins walk the ids in order.

Revision ID: 0011_api_tokens
Revises: 0010_translated_names
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0011_api_tokens"
down_revision = "0010_translated_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table and a new index: both in place on SQLite, no batch copy of ``checkins``.
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_name", "api_tokens", ["name"], unique=False)
    op.create_index("ix_checkins_shareable", "checkins", ["shareable", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_checkins_shareable", table_name="checkins")
    op.drop_index("ix_api_tokens_name", table_name="api_tokens")
    op.drop_table("api_tokens")
