"""Inbound events: frozen, typed, the same on every platform. Adapters build them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class Event:
    platform: str
    event_id: str
    """The platform's id for this event: a replay of the same id changes nothing."""
    sender: str
    """The sender's platform user id (console name, Slack TEAM:USER, Matrix user id)."""
    at: datetime
    channel: str = ""
    """Where it happened: a channel/room id, or the DM's id."""
    is_direct: bool = False


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Event):
    """Plain text. ``in_reply_to``/``thread`` point at the message it answers, if any."""

    text: str
    thread: str | None = None
    in_reply_to: str | None = None
    edits: str | None = None
    """The event id of an earlier message this one replaces (an edit)."""
    files: int = 0
    """Files sent with it (a photo with its caption): the bot keeps only the words, and says
    so."""


@dataclass(frozen=True, kw_only=True)
class CommandReceived(Event):
    """``/name args`` on Slack, ``!name args`` on Matrix, ``/name args`` on the console."""

    name: str
    args: str = ""
    thread: str | None = None
    typed: str | None = None
    """The whole message, when the command word came bare (no ``/`` or ``!``) at the start of
    a direct message: it may be an answer that starts with that word (“Back to basics…”)."""


@dataclass(frozen=True, kw_only=True)
class ChoicePicked(Event):
    """A button, a numbered option or a reaction picked on a prompt message."""

    message_ref: str
    choice: str


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(Event):
    """A form (modal) answering one prompt."""

    message_ref: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Reacted(Event):
    """A reaction put on (or taken off) someone's message. Adapters pass only reactions the
    core has a meaning for, by the core's name: ``STAR`` (⭐ marks an answer for the digest)."""

    message_ref: str
    """The message reacted to, as the core stores it (a check-in's ``event_ref``)."""
    key: str
    removed: bool = False


@dataclass(frozen=True, kw_only=True)
class Retracted(Event):
    """An earlier event was withdrawn (a Matrix redaction, e.g. a reaction taken back)."""

    target: str
    """The event id of what was withdrawn."""


STAR = "star"


@dataclass(frozen=True, kw_only=True)
class Undecryptable(Event):
    """A message the bot could not read (end-to-end encryption keys missing)."""


InboundEvent = (
    MessageReceived
    | CommandReceived
    | ChoicePicked
    | FormSubmitted
    | Reacted
    | Retracted
    | Undecryptable
)
