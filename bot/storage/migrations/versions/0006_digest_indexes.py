"""an index for the digest's on-time figures: deliveries by measure and period

``reporting_rates`` reads the prompts of one measure for one period; without an index on
(measure_id, period_key) PostgreSQL may read the whole outbox to find them, and the digest
would grow with all of history rather than with the period.

Revision ID: 0006_digest_indexes
Revises: 0005_retention
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_digest_indexes"
down_revision = "0005_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_measure_period", "deliveries", ["measure_id", "period_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_measure_period", table_name="deliveries")
