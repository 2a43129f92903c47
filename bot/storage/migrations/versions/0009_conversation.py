"""one question at a time: how long a sent prompt holds the member's conversation

A member's prompts that fall due together (or while a question is still waiting for them) are
stored ``queued`` and asked one after another. ``deliveries.turn_until`` is when a sent prompt
stops holding the conversation if the member says nothing: an answer or a skip ends the turn
at once (the column is cleared), and then the next queued question is asked.
``campaigns.one_by_one`` is false for a campaign whose questions go out all at once (``ask:
all at once`` in the alliance file).

Revision ID: 0009_conversation
Revises: 0008_away
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0009_conversation"
down_revision = "0008_away"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN in place on SQLite (a batch copy of ``deliveries`` would be slow).
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn_until", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_deliveries_turn_until", "deliveries", ["turn_until"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("one_by_one", sa.Boolean(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE campaigns DROP COLUMN one_by_one"))
    op.drop_index("ix_deliveries_turn_until", table_name="deliveries")
    op.execute(sa.text("ALTER TABLE deliveries DROP COLUMN turn_until"))
