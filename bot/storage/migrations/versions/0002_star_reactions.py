"""a check-in remembers the reaction that starred it

A ⭐ reaction stars an answer for the digest; on Matrix, taking the reaction back is a
redaction of the reaction event, so the check-in keeps that event's id to find it again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starred_ref", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_checkins_starred_ref"), ["starred_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkins_starred_ref"))
        batch_op.drop_column("starred_ref")
