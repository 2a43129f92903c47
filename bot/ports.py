"""The platform boundary: what the core asks of every adapter, and what adapters may raise.

An adapter implements :class:`ChatPort` and turns platform payloads into :mod:`bot.events`;
the core never sees a payload and never imports a platform library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.events import Event


class DestinationKind(StrEnum):
    PERSON = "person"
    """A direct message to one member; ``target`` is their platform user id."""
    CHANNEL = "channel"
    """A channel or room; ``target`` is its platform id."""


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    target: str
    thread: str | None = None
    """Post inside this thread (the platform reference of its first message)."""


@dataclass(frozen=True)
class ChoiceOption:
    key: str
    label: str


@dataclass(frozen=True)
class Outgoing:
    """A message to post. ``text`` is plain text: adapters escape it for their markup.

    ``quoted`` is member text echoed back; adapters must neutralise mentions in it.
    """

    text: str
    title: str = ""
    quoted: str = ""
    kind: str = "message"
    """prompt, reminder, digest or message."""
    choices: tuple[ChoiceOption, ...] = ()
    answer_kind: str = ""
    """The expected answer type (text/number/choice/scale) when the message is a prompt."""
    delivery_id: int | None = None
    idempotency_key: str | None = None
    """Stable per delivery: a retried send must not post twice where the platform allows it."""
    private: bool = False
    """Only the recipient should see it (an ephemeral reply where the platform has one)."""
    formats: Mapping[str, str] = field(default_factory=dict)
    """Other forms of the same content, by name. The core gives a digest as its neutral
    document (``digest``: ``bot.digest.render.read_document`` reads it back) and each adapter
    renders it in its own markup; adapters may add their own renderings here on the way out."""
    locale: str = "en"
    """The reader's language, for the words adapters add (buttons, hints): ``bot.i18n.t``."""
    attempt: int = 0
    """Failed attempts before this one. A failure may have come after the platform posted
    (a lost response), so a port without idempotency keys looks before posting again."""


COMMAND_BUTTON = "alliance_command"
"""The action id of a button or menu option whose value is a command for the person who presses
it, e.g. ``star 12``: a reply's ``Action`` or a button an adapter draws for a digest (its
☆ Star). Adapters turn a press into that CommandReceived. Several in one block take ``_<n>``."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str
    title: str = ""
    alt: str = ""
    """What an image shows, in words, for screen readers (Slack's ``alt_txt``, Matrix's
    ``body``); empty for files that are not pictures."""


@dataclass(frozen=True)
class Sent:
    """What the platform calls the message we posted, to match replies and threads to it."""

    message_ref: str
    thread_ref: str | None = None
    address: str = ""
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Action:
    """Something the person can do next with one press: a button on Slack; elsewhere a line
    telling them the command to type (``label: command``)."""

    label: str
    command: str
    """A core command with its arguments, e.g. ``share 12``; run as whoever presses it."""


@dataclass(frozen=True)
class Reply:
    """An answer to an inbound event, posted where the event came from."""

    text: str
    quoted: str = ""
    private: bool = True
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    title: str = ""
    formats: Mapping[str, str] = field(default_factory=dict)
    """Other forms of ``text``, as for ``Outgoing.formats`` (a digest's neutral document)."""
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class ReplyTo:
    """Where the answer to an inbound event goes: built by the adapter that received the event
    (``of`` covers the usual case) and kept with the reply in the outbox until it is sent."""

    platform: str
    event_id: str
    """The event answered: a reply relates to it, and the reply's outbox keys derive from it."""
    sender: str
    """The person answered (their platform user id)."""
    channel: str
    """Where the event happened (a channel, room or direct chat)."""
    is_direct: bool = False
    thread: str | None = None
    """The thread to answer in, as the platform names it."""
    about: str | None = None
    """The message the event acted on (a button or reaction on a prompt), if any."""
    answer_by: str | None = field(default=None, repr=False)
    """A short-lived address the platform gave for answering this event (a slash command's),
    opaque to the core. A capability: never logged or shown."""

    @classmethod
    def of(cls, event: Event) -> ReplyTo:
        return cls(
            platform=event.platform,
            event_id=event.event_id,
            sender=event.sender,
            channel=event.channel,
            is_direct=event.is_direct,
            thread=getattr(event, "thread", None),
            about=getattr(event, "message_ref", None),
        )


class PlatformError(Exception):
    """A send failed for a reason that may pass: retried with backoff."""


class RateLimited(PlatformError):
    """The platform said “slow down”; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Waiting(PlatformError):
    """Not sent yet, and not a failure: the platform waits on the person (a Matrix member has
    not accepted the bot's direct chat yet). Tried again after ``retry_after`` seconds without
    using up an attempt, for as long as the dispatcher's ``RetryPolicy.max_wait_seconds``."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(PlatformError):
    """Nothing reached the platform (connection refused, no route, not connected yet), so
    nothing can have been posted. Tried again with backoff, without using up an attempt, for as
    long as the dispatcher's ``RetryPolicy.max_wait_seconds``: an outage of hours loses nothing."""


class Rejected(Exception):
    """The platform refused the send for good (unknown user, no access): not retried."""


class SharedPace(Protocol):
    """A platform's rate limit shared by every worker on one database: each send books the
    next slot in the store, so N workers together never exceed one platform's limit."""

    async def book(self, key: str, per_second: float, burst: int) -> float:
        """Book the next slot under ``key``; the seconds until it opens (``per_second`` 0: no
        rate of our own, only a hold)."""
        ...

    async def hold(self, key: str, seconds: float) -> None:
        """The platform said “slow down”: nothing booked under ``key`` goes out, from any
        worker, for ``seconds``."""
        ...


@runtime_checkable
class ChatPort(Protocol):
    """One platform, as the core sees it."""

    @property
    def platform(self) -> str: ...

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        """Post ``message``; raise RateLimited/PlatformError (retry) or Rejected (give up)."""
        ...

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        """Post a file (a chart, an export)."""
        ...

    async def reply(self, to: ReplyTo, reply: Reply, *, key: str, attempt: int = 0) -> Sent:
        """Post the answer to an event where it belongs on this platform (its thread or direct
        chat; privately where the platform can), with the reply's files. ``key`` is stable for
        this reply (an idempotency key); ``attempt`` > 0: an earlier try may have posted it
        already (see ``Outgoing.attempt``)."""
        ...

    async def mark_answered(self, sent: Sent, to: Destination, summary: str) -> None:
        """Show on the prompt message that it was answered, where the platform can."""
        ...


@runtime_checkable
class Paced(Protocol):
    """A port that paces its own sends (it may also be a ChatPort)."""

    @property
    def paced_seconds(self) -> float:
        """Seconds its pacing has held calls back since it started, in total (sends waiting
        side by side each count)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...
