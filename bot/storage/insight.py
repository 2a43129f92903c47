"""What the alliance's answers become beyond check-ins: partnerships read from connection
exercises, turn-the-curve exercises sent, and the decisions staff mark for the steering
meeting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow


class Partnership(Base):
    """A connection one organisation's member named: to a member organisation, or to an
    external partner (``target_org_id`` null, ``target_name`` as written). Its ``state``
    moves from proposed (read by the bot) to confirmed (the member agreed with the reading),
    then happened, planned or stalled (the follow-up's answer), or declined (a wrong reading).
    Erasing the check-in it was read from erases it."""

    __tablename__ = "partnerships"
    __table_args__ = (
        Index("ix_partnerships_follow_up", "state", "follow_up_at"),
        Index("ix_partnerships_reported", "reported_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    target_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True, index=True
    )
    target_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    """``connection`` or ``partner``: the practice of the exercise it was read from."""
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    how: Mapped[str] = mapped_column(String(16), default="name")
    """How the name was matched: name, alias, fuzzy, external, or member (the member typed it)."""
    checkin_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), nullable=True, index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id"), nullable=True, index=True
    )
    """Who reported it, and who the follow-up asks."""
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    follow_up_at: Mapped[datetime | None] = mapped_column(nullable=True)
    follow_up_delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), nullable=True, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CurveExercise(Base):
    """A turn-the-curve exercise sent to an organisation because a measure fell behind its
    trajectory: at most one per measure, organisation and quarter."""

    __tablename__ = "curve_exercises"
    __table_args__ = (UniqueConstraint("measure_id", "organisation_id", "quarter"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(8))
    period_key: Mapped[str] = mapped_column(String(16))
    """The measure period whose figure made it the second period behind."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """A decision staff marked for the steering meeting (``decision …``)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    period_key: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
