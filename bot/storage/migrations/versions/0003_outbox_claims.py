"""the outbox claims rows, has a lane for replies, and keeps the files replies carry

Being sent is a state of its own (``sending``) with who claimed the row and until when, not
text in ``last_error``; replies to people go through the same outbox, ahead of campaigns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
OLD_SENDING = "sending: the outcome was not recorded yet"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_deliveries_lane_due", ["status", "lane", "next_attempt_at"])
        batch_op.create_index("ix_deliveries_claims", ["status", "claimed_until"])
    # A row an older version marked as being sent: its outcome is unknown, as a claim's is.
    op.execute(
        sa.text(
            "UPDATE deliveries SET status = 'sending', last_error = NULL, "
            "claimed_by = 'before-0003', claimed_until = next_attempt_at "
            "WHERE status = 'pending' AND last_error = :old"
        ).bindparams(old=OLD_SENDING)
    )
    op.create_table(
        "outbox_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_outbox_files_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_files")),
    )
    with op.batch_alter_table("outbox_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_files_delivery_id"), ["delivery_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_files_delivery_id"))
    op.drop_table("outbox_files")
    op.execute(
        sa.text(
            "UPDATE deliveries SET status = 'pending', last_error = :old WHERE status = 'sending'"
        ).bindparams(old=OLD_SENDING)
    )
    op.execute(sa.text("DELETE FROM deliveries WHERE kind = 'reply'"))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_claims")
        batch_op.drop_index("ix_deliveries_lane_due")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("lane")
