"""What happens over time: deliveries (the outbox), check-ins and their history, handled events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models import Base, utcnow


class Delivery(Base):
    """One prompt, reminder or digest for one member or channel; a durable outbox row.

    ``dedupe_key`` names the run it belongs to, so a repeated scheduler fire changes nothing.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_lane_due", "status", "lane", "next_attempt_at"),
        Index("ix_deliveries_claims", "status", "claimed_until"),
        Index("ix_deliveries_member_status", "member_id", "status"),
        Index("ix_deliveries_org_period", "organisation_id", "period_key"),
        Index("ix_deliveries_scheduled", "scheduled_at"),
        Index("ix_deliveries_measure_period", "measure_id", "period_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="prompt")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    prompt_id: Mapped[str | None] = mapped_column(ForeignKey("prompts.id"), nullable=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), nullable=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id"), nullable=True, index=True
    )
    period_key: Mapped[str] = mapped_column(String(16), default="")
    occurrence: Mapped[str] = mapped_column(String(32), default="")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    scheduled_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    platform: Mapped[str | None] = mapped_column(String(16), nullable=True)
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message_ref: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    thread_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    remind_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    turn_until: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    """A sent prompt to a member holds their conversation until then, unless answered or
    skipped first (cleared): meanwhile their next questions stay ``queued``."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lane: Mapped[int] = mapped_column(Integer, default=1)
    """``Lane``: replies (0) are claimed before scheduled prompts and digests (1)."""
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    """While ``status`` is sending: the claim is taken back after this (its process died)."""

    files: Mapped[list[OutboxFile]] = relationship(
        cascade="all, delete-orphan", order_by="OutboxFile.id", lazy="raise"
    )


class OutboxFile(Base):
    """A file a reply carries (a chart, an export), kept with it until it is sent."""

    __tablename__ = "outbox_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CheckIn(Base):
    """A member's answer to a prompt for a period; a second answer to the same delivery edits it."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_org_period", "organisation_id", "period_key"),
        Index("ix_checkins_prompt_period", "prompt_id", "period_key"),
        Index("ix_checkins_measure_period", "measure_id", "period_key"),
        Index("ix_checkins_member", "member_id", "answered_at"),
        Index("ix_checkins_answered", "answered_at"),
        Index("ix_checkins_shareable", "shareable", "id"),
        UniqueConstraint("delivery_id", "member_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), nullable=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id"))
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), nullable=True)
    period_key: Mapped[str] = mapped_column(String(16))
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answer_number: Mapped[float | None] = mapped_column(Float, nullable=True)
    answer_choice: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(16))
    event_ref: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(nullable=True)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    starred_ref: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    """The platform id of the ⭐ reaction that starred it, so taking the reaction back unstars."""
    shareable: Mapped[bool] = mapped_column(Boolean, default=False)

    revisions: Mapped[list[CheckInRevision]] = relationship(
        back_populates="checkin", cascade="all, delete-orphan", order_by="CheckInRevision.id"
    )


class CheckInRevision(Base):
    """A value a check-in held before it was edited."""

    __tablename__ = "checkin_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), index=True
    )
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answer_number: Mapped[float | None] = mapped_column(Float, nullable=True)
    answer_choice: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime]
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)

    checkin: Mapped[CheckIn] = relationship(back_populates="revisions")


class ProcessedEvent(Base):
    """A platform event already handled: a replay of the same id changes nothing."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdapterState(Base):
    """Small named values an adapter must keep across restarts (a sync token, a DM room)."""

    __tablename__ = "adapter_state"
    __table_args__ = (UniqueConstraint("platform", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """A staff or admin action, or a member's deletion or sharing: who, what, when, on which
    object. Never answer text: the object is named by its kind and id (``bot/audit.py``)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_member_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """The member who acted, if a member did; no foreign key, so the trail outlives them."""
    actor: Mapped[str] = mapped_column(String(255))
    """Their handle, or what acted otherwise: ``cli``, ``startup``, ``retention``."""
    action: Mapped[str] = mapped_column(String(32), index=True)
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Installation(Base):
    """The bot installed in one space of a platform (a team or workspace): whether the accounts
    starting with ``account_prefix`` can be reached, and since when they cannot.
    ``credentials`` is the adapter's own sealed (encrypted) value; the core never reads it."""

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("platform", "space"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    space: Mapped[str] = mapped_column(String(255))
    account_prefix: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    organisation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The organisation whose install link was used, if one was."""
    credentials: Mapped[str | None] = mapped_column(Text, nullable=True)
    installed_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    gone_at: Mapped[datetime | None] = mapped_column(nullable=True)
    gone_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class ApiToken(Base):
    """A token for the read-only HTTP API (``alliance-bot api token``). Only the SHA-256 of the
    token is kept; ``prefix`` (its first characters) tells tokens apart in a list."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(16))
    """``staff`` (every check-in) or ``reader`` (shared check-ins only)."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Webhook(Base):
    """An endpoint the alliance's own systems listen on (``alliance-bot webhook``, or the
    alliance file's ``webhooks``). Each event is an outbox row (kind ``webhook``) signed with
    ``secret``, or with the value of the environment variable ``secret_env`` for an endpoint
    from the alliance file (the file never holds the secret). ``failures`` counts failed
    requests in a row; at ``disable_after`` the endpoint is disabled and its events held."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[str] = mapped_column(String(16), default="reader")
    """``staff`` (every check-in, with who answered) or ``reader`` (shared ones only)."""
    secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    secret_env: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="cli")
    """``file`` (the alliance file) or ``cli``."""
    disable_after: Mapped[int] = mapped_column(Integer, default=12)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once disabled (by failures or by an admin): its events are held, not sent."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """After a failure, no request before then (the backoff is the endpoint's, not a row's)."""
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(nullable=True)
