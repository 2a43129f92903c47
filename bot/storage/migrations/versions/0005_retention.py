"""the alliance's retention period, and a member's pending request to erase everything

``alliance.retention`` holds the alliance file's ``retention`` (``18 months``; NULL keeps answers
until deleted). ``members.erase_requested_at`` is when a member typed ``mydata delete all``:
their confirmation within ten minutes erases everything they told the bot.

Revision ID: 0005_retention
Revises: 0004_audit_log
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0005_retention"
down_revision = "0004_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: SQLite adds and drops these columns in place, where
    # a batch copy of ``members`` would cascade to the identities that refer to it.
    op.add_column("alliance", sa.Column("retention", sa.String(length=32), nullable=True))
    op.add_column(
        "members", sa.Column("erase_requested_at", UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE members DROP COLUMN erase_requested_at"))
    op.execute(sa.text("ALTER TABLE alliance DROP COLUMN retention"))
