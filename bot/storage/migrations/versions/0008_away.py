"""members' absences, and who reports for an organisation while its reporters are away

``members.away_from`` and ``members.away_until`` are the first and last day (both included, in
the member's local time) a member is away: no prompt or reminder goes to them meanwhile, and the
digest counts them neither answered nor missing. ``members.backup_reporter`` marks who gets an
organisation's measure prompts on a day when all its reporting members are away.

Revision ID: 0008_away
Revises: 0007_installations
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_away"
down_revision = "0007_installations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite a batch of plain ADD COLUMNs runs in place: no copy of ``members``, which would
    # cascade to the identities that refer to it (see 0005). The server default is a string,
    # not an expression, for the same reason (an expression would make the batch copy).
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("away_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("away_until", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("backup_reporter", sa.Boolean(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    # Plain ALTER TABLE on both databases, as in 0005: a batch drop would copy ``members``.
    for column in ("backup_reporter", "away_until", "away_from"):
        op.execute(sa.text(f"ALTER TABLE members DROP COLUMN {column}"))
