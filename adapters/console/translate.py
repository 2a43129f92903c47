"""Pure translation of a console line into a core event or a console directive."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.events import ChoicePicked, CommandReceived, InboundEvent, MessageReceived
from bot.text import ascii_digits, quote, storable
from bot.vocabulary import COMMAND_WORDS

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
MAX_DURATION = timedelta(days=366)
"""The longest ``wait`` or ``advance``: a year."""


@dataclass(frozen=True)
class Directive:
    """Something for the console itself: switch identity, move the clock, wait, quit."""

    name: str
    argument: str = ""
    seconds: float = 0.0


def parse_duration(text: str) -> timedelta:
    """``1d``, ``2h``, ``30m``, ``45s`` or a mix (``1d12h``), up to :data:`MAX_DURATION`;
    ValueError with the sentence to show otherwise. Digits of any script count."""
    match = _DURATION.fullmatch(ascii_digits(text.strip().lower()))
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"“{quote(text)}” is not a duration; write it like 1d, 2h, 30m or 45s.")
    if any(len(g or "") > 9 for g in match.groups()):
        seconds = None  # a figure that long is out of bounds whatever its unit
    else:
        d, h, m, s = (int(g or 0) for g in match.groups())
        seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if seconds is None or seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"“{quote(text)}” is too long to wait or advance: the most is "
            f"{MAX_DURATION.days}d (a year)."
        )
    return timedelta(seconds=seconds)


def parse_line(line: str, me: str, now: datetime) -> InboundEvent | Directive | None:
    """``me`` is the console name the line is typed as; None for blank lines and comments.
    Bytes that were not UTF-8 (lone surrogates from the terminal) arrive as �, and a NUL as
    nothing: neither can be stored or looked up."""
    text = storable(line).strip()
    if not text or text.startswith("#") and not text.startswith("#!"):
        return None
    head, _, rest = text.partition(" ")
    word = head.lower()
    base: dict[str, Any] = {
        "platform": "console",
        "event_id": f"console:{uuid.uuid4()}",
        "sender": me,
        "at": now,
        "channel": f"dm:{me}",
        "is_direct": True,
    }
    if word == "as":
        return Directive("as", rest.strip())
    if word in ("advance", "wait"):
        return Directive(word, rest.strip(), parse_duration(rest).total_seconds())
    if word in ("quit", "exit", "whoami", "time", "settle"):
        return Directive(word)
    if word == "reply" and rest:
        ref, _, answer = rest.strip().partition(" ")
        return MessageReceived(**base, text=answer, thread=ref)
    if word == "pick" and rest:
        ref, _, choice = rest.strip().partition(" ")
        return ChoicePicked(**base, message_ref=ref, choice=choice.strip())
    if word == "say" and rest.startswith("#"):
        channel, _, said = rest.partition(" ")
        return MessageReceived(**{**base, "channel": channel, "is_direct": False}, text=said)
    if word.startswith(("/", "!")) or word in COMMAND_WORDS:
        bare = None if word.startswith(("/", "!")) else text
        return CommandReceived(**base, name=word.lstrip("/!"), args=rest.strip(), typed=bare)
    return MessageReceived(**base, text=text)
