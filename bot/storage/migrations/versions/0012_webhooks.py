"""webhooks: the endpoints the alliance's own systems listen on

``webhooks`` holds one row per endpoint: its key, URL, the events it takes, the role that
decides what it may see (``reader``: shared check-ins only), where its signing secret comes
from (``secret``, made by ``alliance-bot webhook add``, or ``secret_env``, the name of an
environment variable, for an endpoint in the alliance file), and its health: failures in a
row, when the next request may go, and when and why it was disabled. A removed endpoint keeps
its row (``removed_at``) so its outbox rows still name it.

Events themselves are outbox rows (``deliveries.kind = 'webhook'``, lane 2); the row holds
which object the event is about, never the answer text (the body is read when it is sent).

Revision ID: 0012_webhooks
Revises: 0011_api_tokens
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0012_webhooks"
down_revision = "0011_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=True),
        sa.Column("secret_env", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("disable_after", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_success_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint("key", name=op.f("uq_webhooks_key")),
    )


def downgrade() -> None:
    op.drop_table("webhooks")
