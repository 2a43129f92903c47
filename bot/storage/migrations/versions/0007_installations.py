"""installations: where the bot is installed on a platform, sealed credentials, reachability

One row per (platform, space): a space is the part of a platform one installation reaches (a
chat workspace). ``account_prefix`` names the accounts it reaches, ``credentials`` holds what
the adapter sealed (encrypted) for it, and ``gone_at``/``gone_reason`` say since when and why
those accounts cannot be reached (the app was removed, its tokens revoked); the row stays, so
the digest can say which organisations are cut off.

Revision ID: 0007_installations
Revises: 0006_digest_indexes
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0007_installations"
down_revision = "0006_digest_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("space", sa.String(length=255), nullable=False),
        sa.Column("account_prefix", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("installed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("gone_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("gone_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installations")),
        sa.UniqueConstraint("platform", "space", name=op.f("uq_installations_platform_space")),
    )


def downgrade() -> None:
    op.drop_table("installations")
