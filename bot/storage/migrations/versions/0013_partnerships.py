"""partnerships, turn-the-curve exercises and steering decisions

- ``organisations.aliases``: other names members use for an organisation, matched when a
  connection exercise's answer is read for the organisations it names.
- ``partnerships``: one row per connection read from an answer (source organisation, target
  organisation or external partner's name, kind, state, the check-in it came from, who
  reported it, and its follow-up). It goes with its check-in (``ON DELETE CASCADE``).
- ``curve_exercises``: the turn-the-curve exercises sent, one per measure, organisation and
  quarter at most (the unique key is that rule).
- ``decisions``: what staff marked for the steering meeting's agenda.
- ``alliance.curve_after`` and ``alliance.follow_up_weeks``: when those exercises are sent.

Revision ID: 0013_partnerships
Revises: 0012_webhooks
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision = "0013_partnerships"
down_revision = "0012_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alliance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("curve_after", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(
            sa.Column("follow_up_weeks", sa.Integer(), nullable=False, server_default="4")
        )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aliases", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "partnerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_org_id", sa.Integer(), nullable=False),
        sa.Column("target_org_id", sa.Integer(), nullable=True),
        sa.Column("target_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("follow_up_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("follow_up_delivery_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_org_id"],
            ["organisations.id"],
            name=op.f("fk_partnerships_source_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["target_org_id"],
            ["organisations.id"],
            name=op.f("fk_partnerships_target_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkins.id"],
            name=op.f("fk_partnerships_checkin_id_checkins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_partnerships_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_partnerships_follow_up_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnerships")),
    )
    op.create_index("ix_partnerships_follow_up", "partnerships", ["state", "follow_up_at"])
    op.create_index("ix_partnerships_reported", "partnerships", ["reported_at"])
    for column in (
        "source_org_id",
        "target_org_id",
        "checkin_id",
        "member_id",
        "follow_up_delivery_id",
    ):
        op.create_index(f"ix_partnerships_{column}", "partnerships", [column])
    op.create_table(
        "curve_exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_curve_exercises_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_curve_exercises_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curve_exercises")),
        sa.UniqueConstraint(
            "measure_id",
            "organisation_id",
            "quarter",
            name=op.f("uq_curve_exercises_measure_id_organisation_id_quarter"),
        ),
    )
    op.create_index("ix_curve_exercises_measure_id", "curve_exercises", ["measure_id"])
    op.create_index("ix_curve_exercises_organisation_id", "curve_exercises", ["organisation_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_decisions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_period_key", "decisions", ["period_key"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("curve_exercises")
    op.drop_table("partnerships")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("aliases")
    with op.batch_alter_table("alliance", schema=None) as batch_op:
        batch_op.drop_column("follow_up_weeks")
        batch_op.drop_column("curve_after")
