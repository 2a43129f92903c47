"""campaign names and measure labels in several languages

``campaigns.names`` and ``measures.names`` hold the other languages of a name the alliance file
gives as ``{en: …, fr: …}`` (``name`` keeps the English, as before): the prompt's title and the
digests use the reader's language. Empty for a name given as one text.

Revision ID: 0010_translated_names
Revises: 0009_conversation
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_translated_names"
down_revision = "0009_conversation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, in place on SQLite (no batch copy), with a string server default.
    for table in ("campaigns", "measures"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("names", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    for table in ("measures", "campaigns"):
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN names"))
