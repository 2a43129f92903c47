"""Pure translation between Matrix event JSON and the core's events and messages.

No network, no nio: inbound functions take an event's JSON (``event.source`` in nio, decrypted
when nio could decrypt it) and outbound ones return event content dicts ready to send.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.i18n import _
from adapters.matrix import ids
from adapters.matrix.media import HTML_FORMAT, html_lines, media_caption
from bot.events import (
    STAR,
    ChoicePicked,
    CommandReceived,
    InboundEvent,
    MessageReceived,
    Reacted,
    Retracted,
    Undecryptable,
)
from bot.i18n import translate
from bot.ports import ChoiceOption, Outgoing, Reply
from bot.vocabulary import COMMAND_WORDS

PLATFORM = "matrix"
NS = "org.alliancebot"
KIND_KEY = f"{NS}.kind"
"""Our own content key: the Outgoing kind (prompt, reminder, digest, message, reply)."""
REPLY_TO_KEY = f"{NS}.reply_to"
CHOICES_KEY = f"{NS}.choices"
KEYCAPS = tuple(f"{n}\ufe0f\u20e3" for n in range(10)) + ("\U0001f51f",)
"""0️⃣ … 9️⃣ and 🔟: the reaction that picks option number n."""
ANSWERED = "\u2705"
STARS = ("\u2b50", "\U0001f31f")
"""⭐ and 🌟: staff star an answer for the digest by reacting with one."""
TEXT_TYPES = ("m.text", "m.emote")
POLL_RESPONSES = {
    "org.matrix.msc3381.poll.response": "org.matrix.msc3381.poll.response",
    "m.poll.response": "m.selections",
}
"""A vote on a poll (MSC3381: as Element sends it, and stable), and where its choice is."""
NOTICE = "m.notice"
"""The bot's replies: Element shows them without notifying (prompts and reminders notify)."""
_FALLBACK_LINE = re.compile(r"^> ?.*$")


def keycap_number(key: str) -> int | None:
    """1 for "1️⃣" (with or without the variation selector), 10 for "🔟", None otherwise."""
    normalised = key.replace("\ufe0f", "").strip()
    for number, cap in enumerate(KEYCAPS):
        if normalised == cap.replace("\ufe0f", ""):
            return number
    return None


def option_numbers(choices: Sequence[ChoiceOption], answer_kind: str) -> list[int]:
    """The number shown (and reacted with) for each option.

    Scales show their own values, so a reaction of 0️⃣ on a 0–10 scale means 0; other choices
    are numbered from 1, as the core accepts their position as an answer.
    """
    keys = [c.key for c in choices]
    if answer_kind == "scale" and all(k.isdigit() and int(k) <= 10 for k in keys):
        return [int(k) for k in keys]
    return list(range(1, len(choices) + 1))


def _at(source: Mapping[str, Any]) -> datetime:
    """When the event was sent; now, when its server gave no usable time."""
    millis = source.get("origin_server_ts")
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        try:
            return datetime.fromtimestamp(millis / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return datetime.now(UTC)


def strip_reply_fallback(body: str) -> str:
    """Drop the "> <@someone> quoted" lines older clients put before a rich reply's text."""
    lines = body.splitlines()
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and _FALLBACK_LINE.match(lines[index]):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n") if index < len(lines) else body


def inbound(
    source: Mapping[str, Any], *, room_id: str, own_user_id: str, is_direct: bool
) -> InboundEvent | None:
    """One room event as the core sees it; None for what the bot ignores.

    ``source`` is the event's JSON; an ``m.room.encrypted`` one means nio could not decrypt it.
    """
    sender = str(source.get("sender", ""))
    event_id = str(source.get("event_id", ""))
    if not sender or not event_id or sender == own_user_id:
        return None
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "event_id": event_id,
        "sender": sender,
        "at": _at(source),
        "channel": room_id,
        "is_direct": is_direct,
    }
    kind = source.get("type")
    content = source.get("content")
    if not isinstance(content, Mapping) or not isinstance(kind, str):
        return None
    if kind == "m.room.encrypted":
        return Undecryptable(**base)
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, Mapping) else {}
    if kind == "m.room.redaction":  # room v11 moved ``redacts`` into the content
        redacts = content.get("redacts") or source.get("redacts")
        return Retracted(**base, target=str(redacts)) if redacts else None
    if kind == "m.reaction":
        key, target = str(relates.get("key", "")), relates.get("event_id")
        if relates.get("rel_type") != "m.annotation" or not target:
            return None
        if key.replace("\ufe0f", "").strip() in STARS:
            return Reacted(**base, message_ref=str(target), key=STAR)
        number = keycap_number(key)
        if number is None:
            return None
        return ChoicePicked(**base, message_ref=str(target), choice=str(number))
    if kind in POLL_RESPONSES:  # a vote: the poll's answer id (the option's key)
        picked, target = poll_selection(content.get(POLL_RESPONSES[kind])), relates.get("event_id")
        if relates.get("rel_type") != "m.reference" or not target or picked is None:
            return None
        return ChoicePicked(**base, message_ref=str(target), choice=picked)
    if kind != "m.room.message":
        return None
    if relates.get("rel_type") == "m.replace":
        new = content.get("m.new_content")
        if not isinstance(new, Mapping) or new.get("msgtype") not in TEXT_TYPES:
            return None
        target = relates.get("event_id")
        text = str(new.get("body", "")).strip()
        return MessageReceived(**base, text=text, edits=str(target)) if target and text else None
    caption = media_caption(content)
    if content.get("msgtype") not in TEXT_TYPES and caption is None:
        return None  # notices (other bots), locations, polls: not answers
    thread, reply_to = relation_refs(relates)
    body = str(content.get("body", "")) if caption is None else caption
    text = (strip_reply_fallback(body) if reply_to else body).strip()
    if caption is not None:  # its caption is the answer; the core says the file is not kept
        return MessageReceived(**base, text=text, thread=thread, in_reply_to=reply_to, files=1)
    if not text:
        return None
    prefix = ids.COMMAND_PREFIX
    if text.startswith(prefix) and len(text) > len(prefix) and not text[len(prefix)].isspace():
        head, _, rest = text[len(prefix) :].partition(" ")
        return CommandReceived(**base, name=head.lower(), args=rest.strip(), thread=thread)
    head, _, rest = text.partition(" ")
    if base["is_direct"] and not (thread or reply_to) and head.lower() in COMMAND_WORDS:
        # a command word at the top of a direct chat, as the help once taught (in a thread or
        # a reply it is an answer, as on Slack)
        return CommandReceived(**base, name=head.lower(), args=rest.strip(), typed=text)
    return MessageReceived(**base, text=text, thread=thread, in_reply_to=reply_to)


def poll_selection(found: Any) -> str | None:
    """The first answer id of a poll response's selections (``{"answers": [...]}`` unstable,
    a bare list stable); None for a spoiled or empty vote."""
    if isinstance(found, Mapping):
        found = found.get("answers")
    if not isinstance(found, list) or not found or not isinstance(found[0], str):
        return None
    return found[0].strip() or None


def relation_refs(relates: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(thread root, replied-to event) from an ``m.relates_to``; a thread's fallback reply is
    not a real reply, so it does not count."""
    in_reply = relates.get("m.in_reply_to")
    reply_to = in_reply.get("event_id") if isinstance(in_reply, Mapping) else None
    if relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        if relates.get("is_falling_back", False):
            reply_to = None
        return (str(root) if root else None), (str(reply_to) if reply_to else None)
    return None, (str(reply_to) if reply_to else None)


def invite_of(events: Iterable[Mapping[str, Any]], own_user_id: str) -> tuple[str, bool] | None:
    """(inviter, is_direct) from an invited room's stripped state, or None."""
    for event in events:
        content = event.get("content")
        if (
            event.get("type") == "m.room.member"
            and event.get("state_key") == own_user_id
            and isinstance(content, Mapping)
            and content.get("membership") == "invite"
        ):
            return str(event.get("sender", "")), bool(content.get("is_direct", False))
    return None


# --- outbound ----------------------------------------------------------------------------------


def relation(
    thread: str | None, reply_to: str | None, *, quote: bool = True
) -> dict[str, Any] | None:
    """``m.relates_to`` for a message in a thread (replying to ``reply_to`` in it) or a reply.
    ``quote=False``: in the thread without quoting ``reply_to``, which is only the fallback
    older clients show the message as a reply to (the thread's latest event, as Element does)."""
    if thread:
        return {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": reply_to is None or not quote,
            "m.in_reply_to": {"event_id": reply_to or thread},
        }
    if reply_to:
        return {"m.in_reply_to": {"event_id": reply_to}}
    return None


def message_content(
    *,
    text: str,
    title: str = "",
    quoted: str = "",
    kind: str = "message",
    choices: Sequence[ChoiceOption] = (),
    answer_kind: str = "",
    thread: str | None = None,
    reply_to: str | None = None,
    quote: bool = True,
    mentions: Sequence[str] = (),
    html_body: str = "",
    notes: Sequence[str] = (),
    msgtype: str = "m.text",
) -> dict[str, Any]:
    """An ``m.text`` (or ``msgtype``) with an HTML rendering; every piece of text is escaped in
    the HTML, and ``m.mentions`` names only ``mentions`` (so quoted “@room” pings nobody).
    ``html_body`` is the core's own HTML (a digest, rendered with member text escaped) used as
    it is; ``notes`` are lines after everything else (what to type next)."""
    plain: list[str] = []
    rich: list[str] = []
    if title:
        plain.append(title)
        rich.append(f"<strong>{html.escape(title, quote=False)}</strong>")
    if text:
        plain.append(text)
        rich.append(html_lines(text))
    options: list[dict[str, Any]] = []
    if choices:
        numbers = option_numbers(choices, answer_kind)
        for number, choice in zip(numbers, choices, strict=True):
            emoji = KEYCAPS[number] if number < len(KEYCAPS) else f"{number}."
            options.append(
                {"number": number, "key": choice.key, "label": choice.label, "emoji": emoji}
            )
            plain.append(f"{emoji} {choice.label}")
            rich.append(f"{emoji} {html.escape(choice.label, quote=False)}")
    if quoted:
        plain.extend(f"> {line}" for line in quoted.splitlines())
        rich.append(f"<blockquote>{html_lines(quoted)}</blockquote>")
    plain.extend(notes)
    rich.extend(f"<em>{html.escape(note, quote=False)}</em>" for note in notes)
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": "\n".join(plain),
        "format": HTML_FORMAT,
        "formatted_body": html_body or "<br>".join(rich),
        "m.mentions": {"user_ids": list(mentions)} if mentions else {},
        KIND_KEY: kind,
    }
    if options:
        content[CHOICES_KEY] = options
    related = relation(thread, reply_to, quote=quote)
    if related:
        content["m.relates_to"] = related
    return content


def outgoing_content(message: Outgoing, thread: str | None = None) -> dict[str, Any]:
    notes: list[str] = []
    if message.delivery_id is not None and message.kind in ("prompt", "reminder"):
        hint = (
            _("Reply in this thread, or react with the number of your choice.")
            if message.choices
            else _("Reply in this thread.")
        )
        notes.append(translate(hint, message.locale))
    return message_content(
        text=message.text,
        title=message.title,
        quoted=message.quoted,
        kind=message.kind,
        choices=message.choices,
        answer_kind=message.answer_kind,
        thread=thread,
        html_body=message.formats.get("html", ""),
        notes=notes,
    )


def reply_content(
    reply: Reply,
    *,
    answering: str,
    thread: str | None = None,
    reply_to: str | None = None,
    quote: bool = True,
    mentions: Sequence[str] = (),
) -> dict[str, Any]:
    """A reply to inbound event ``answering``: an ``m.notice``, so it does not notify, marked so
    tools can tell replies from prompts."""
    content = message_content(
        text=reply.text,
        title=reply.title,
        quoted=reply.quoted,
        kind="reply",
        thread=thread,
        reply_to=reply_to,
        quote=quote,
        mentions=mentions,
        html_body=reply.formats.get("html", ""),
        notes=[f"{a.label}: {ids.COMMAND_PREFIX}{a.command}" for a in reply.actions],
        msgtype=NOTICE,
    )
    content[REPLY_TO_KEY] = answering
    return content


def reaction_content(target: str, key: str = ANSWERED) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


def offered_reactions(content: Mapping[str, Any]) -> list[str]:
    """The keycaps the bot adds to a prompt or reminder it posted, one per choice, so a member
    answers with one tap (options numbered past 🔟 have none: they are typed)."""
    if content.get(KIND_KEY) not in ("prompt", "reminder"):
        return []
    options = content.get(CHOICES_KEY)
    if not isinstance(options, list):
        return []
    return [
        str(o["emoji"])
        for o in options
        if isinstance(o, Mapping) and str(o.get("emoji", "")) in KEYCAPS
    ]


def transaction_id(key: str | None, salt: str = "") -> str | None:
    """A stable transaction id from an idempotency key: a retried send is not posted twice."""
    if not key:
        return None
    return "ab" + hashlib.sha256(f"{salt}\x00{key}".encode()).hexdigest()[:40]


def direct_rooms(content: Mapping[str, Any]) -> dict[str, list[str]]:
    """``m.direct`` account data, tolerating junk."""
    found: dict[str, list[str]] = {}
    for user, rooms in content.items():
        if isinstance(user, str) and isinstance(rooms, list):
            found[user] = [r for r in rooms if isinstance(r, str)]
    return found
