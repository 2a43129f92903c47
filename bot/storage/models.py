"""The tables. Times are aware UTC datetimes; a member's zone only decides *when* things happen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Alliance(Base):
    """The one alliance this database serves (id 1)."""

    __tablename__ = "alliance"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(16), default="en")
    default_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_digest: Mapped[str] = mapped_column(String(64), default="")
    retention: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """How long answers are kept (``18 months``, see bot/privacy); None: until deleted."""
    curve_after: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    """Periods in a row a measure is behind its target before the organisations reporting it
    get a turn-the-curve exercise (0: never)."""
    follow_up_weeks: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    """Weeks after a connection is named before its follow-up asks if it happened (0: never)."""


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="other")
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Other names members use for it (“BML”, “la médiathèque”), for the partnership map."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    members: Mapped[list[Member]] = relationship(back_populates="organisation")


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    reporting: Mapped[bool] = mapped_column(Boolean, default=False)
    backup_reporter: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Gets the organisation's measure prompts on days all its reporting members are away."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    away_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    away_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    """The first and last day (both included, in the member's zone) the member is away: no
    prompt or reminder then (``away`` / ``back``, or the alliance file's ``away``)."""
    erase_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """When the member asked ``mydata delete all``: a confirmation soon after erases."""

    organisation: Mapped[Organisation] = relationship(back_populates="members")
    identities: Mapped[list[Identity]] = relationship(
        back_populates="member", cascade="all, delete-orphan"
    )


class Identity(Base):
    """One account of a member on one platform (console name, Slack team:user, Matrix user id)."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        UniqueConstraint("member_id", "platform"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))

    member: Mapped[Member] = relationship(back_populates="identities")


class Channel(Base):
    """A named place where prompts or digests go, with its address on each platform."""

    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16), default="members")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    addresses: Mapped[list[ChannelAddress]] = relationship(
        back_populates="channel", cascade="all, delete-orphan"
    )


class ChannelAddress(Base):
    __tablename__ = "channel_addresses"
    __table_args__ = (
        UniqueConstraint("platform", "address"),
        UniqueConstraint("channel_id", "platform"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))

    channel: Mapped[Channel] = relationship(back_populates="addresses")


class Prompt(Base):
    """A prompt as used by this alliance: the library's or the alliance file's own."""

    __tablename__ = "prompts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    answer_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="library")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Measure(Base):
    __tablename__ = "measures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    """The label in other languages (``bot.i18n.pick``); ``name`` is the English."""
    unit: Mapped[str] = mapped_column(String(64))
    aggregation: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    targets: Mapped[list[MeasureTarget]] = relationship(
        back_populates="measure", cascade="all, delete-orphan"
    )


class MeasureTarget(Base):
    """A per-organisation target for one period of a measure."""

    __tablename__ = "measure_targets"
    __table_args__ = (UniqueConstraint("measure_id", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    target: Mapped[float] = mapped_column(Float)

    measure: Mapped[Measure] = relationship(back_populates="targets")


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    """The name in other languages (``bot.i18n.pick``); ``name`` is the English."""
    description: Mapped[str] = mapped_column(Text, default="")

    prompt_ids: Mapped[list[Any]] = mapped_column(JSON)
    prompt_order: Mapped[str] = mapped_column(String(16), default="all")
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)
    direct: Mapped[bool] = mapped_column(Boolean, default=True)
    schedule: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reminder_after_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reminder_max: Mapped[int] = mapped_column(Integer, default=0)
    catch_up_minutes: Mapped[int] = mapped_column(Integer, default=360)
    skip_holidays: Mapped[bool] = mapped_column(Boolean, default=False)
    one_by_one: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    """A member's questions of one run come one after another (``bot.conversation``)."""
    measure_period: Mapped[str] = mapped_column(String(16), default="previous")
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignCursor(Base):
    """How far the scheduler has handled a campaign's runs in one time zone."""

    __tablename__ = "campaign_cursors"
    __table_args__ = (UniqueConstraint("campaign_id", "zone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    zone: Mapped[str] = mapped_column(String(64))
    handled_through: Mapped[datetime]
    runs: Mapped[int] = mapped_column(Integer, default=0)


class DigestSchedule(Base):
    __tablename__ = "digest_schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    schedule: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16), default="staff")
    period: Mapped[str] = mapped_column(String(32), default="last week")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DigestCursor(Base):
    """How far a scheduled digest's runs were handled in one time zone."""

    __tablename__ = "digest_cursors"
    __table_args__ = (UniqueConstraint("digest_id", "zone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digest_schedules.id", ondelete="CASCADE"))
    zone: Mapped[str] = mapped_column(String(64))
    handled_through: Mapped[datetime]
