"""Closed vocabularies of the domain."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(StrEnum):
    MEMBER = "member"
    BACKBONE = "backbone"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        """Backbone staff and admins may see others' answers and digests."""
        return self in (Role.BACKBONE, Role.ADMIN)


class PromptKind(StrEnum):
    EXERCISE = "exercise"
    MEASURE = "measure"


class AnswerType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    NUMBER = "number"
    SCALE = "scale"


class Condition(StrEnum):
    """The five conditions of Collective Impact."""

    COMMON_AGENDA = "common_agenda"
    SHARED_MEASUREMENT = "shared_measurement"
    MUTUALLY_REINFORCING_ACTIVITIES = "mutually_reinforcing_activities"
    CONTINUOUS_COMMUNICATION = "continuous_communication"
    BACKBONE_SUPPORT = "backbone_support"


class Aggregation(StrEnum):
    SUM = "sum"
    MEAN = "mean"
    LATEST = "latest"


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    RANGE = "range"
    """Any run of days (digests only: ``2026-10-01..2026-10-15``)."""


class OrgKind(StrEnum):
    LIBRARY = "library"
    NGO = "ngo"
    AGENCY = "agency"
    BACKBONE = "backbone"
    OTHER = "other"


class PromptOrder(StrEnum):
    """How a campaign walks its prompts: all at each run, or one per run in order."""

    ALL = "all"
    SEQUENCE = "sequence"
    ROTATE = "rotate"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    """A member's question waiting for its turn: asked once the one before it is answered,
    skipped or left unanswered long enough (:mod:`bot.conversation`)."""
    PENDING = "pending"
    SENDING = "sending"
    """Claimed by a dispatcher (``claimed_by`` until ``claimed_until``): its send may be under
    way. A claim that outlives its process is taken back, and the platform may have posted it."""
    SENT = "sent"
    FAILED = "failed"
    MISSED = "missed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    HELD = "held"
    """Kept but not sent: a webhook whose endpoint was disabled, sent once it is enabled."""


class DeliveryKind(StrEnum):
    PROMPT = "prompt"
    REMINDER = "reminder"
    DIGEST = "digest"
    REPLY = "reply"
    """An answer to something a person did (an acknowledgement, an error, a requested digest)."""
    NOTICE = "notice"
    """A message from the bot itself to a member (an admin told a webhook was disabled)."""
    WEBHOOK = "webhook"
    """An event POSTed to a webhook endpoint (:mod:`bot.webhooks`)."""


class Lane(IntEnum):
    """Outbox lanes, sent in this order: a person waiting on an answer goes before a campaign."""

    REPLIES = 0
    SCHEDULED = 1
    WEBHOOKS = 2
    """Events for the alliance's own systems: a slow endpoint never holds a member's prompt."""


SUPPORTED_LOCALES = ("en", "fr", "es")
DEFAULT_LOCALE = "en"
