"""Choice prompts as native Matrix polls (MSC3381), as Element sends and reads them.

With ``ALLIANCE_BOT_MATRIX__CHOICES=polls`` a prompt or reminder with choices is posted as an
``org.matrix.msc3381.poll.start`` event (the unstable type Element Web, Desktop and X send and
show): one vote, results disclosed, one answer per option whose id is the option's key, so a
vote reads the same however the options are numbered. A member's vote comes back as a poll
response, which ``translate.inbound`` turns into a ``ChoicePicked`` on the poll, as a keycap
reaction is on a prompt message; a changed vote is a new response, so it edits the answer.

Clients that do not know polls show the fallback text instead (if they show unknown events at
all): the question, the numbered options and how to answer by typing. With ``reactions`` every
prompt is a message with the keycaps added, as before. Pure, like ``translate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from adapters.i18n import _
from adapters.matrix import translate
from bot.ports import ChoiceOption, Outgoing

Choices = Literal["polls", "reactions"]
POLLS: Choices = "polls"
REACTIONS: Choices = "reactions"
POLL_START = "org.matrix.msc3381.poll.start"
"""The event type, and the content key of the poll itself."""
TEXT = "org.matrix.msc1767.text"
"""Extensible events' plain text: the question, each answer, and the whole poll as fallback."""
DISCLOSED = "org.matrix.msc3381.poll.disclosed"
"""Voters see the results as votes come in (the bot reads every vote anyway)."""
MAX_ANSWERS = 20
"""MSC3381 allows at most 20 answers; longer lists stay a message (their numbers are typed)."""
HOW_TO_ANSWER = _("Reply in this thread with the number or the name of your choice.")
"""The fallback's last line, for clients that show the text instead of the poll."""
EVENT_TYPES = ("m.room.message", POLL_START)
"""What the bot posts prompts as: the events a keycap or a poll response may answer."""


def as_poll(message: Outgoing) -> bool:
    """Whether ``message`` can be a poll: a prompt or reminder of a delivery, with 1–20 choices."""
    return (
        message.kind in ("prompt", "reminder")
        and message.delivery_id is not None
        and 0 < len(message.choices) <= MAX_ANSWERS
    )


def event_for(
    message: Outgoing, thread: str | None, choices: Choices
) -> tuple[str, dict[str, Any]]:
    """(event type, content) that offers ``message`` the way ``choices`` says."""
    if choices == POLLS and as_poll(message):
        return POLL_START, poll_content(message, thread)
    return "m.room.message", translate.outgoing_content(message, thread=thread)


def numbered(choices: Sequence[ChoiceOption], answer_kind: str) -> list[tuple[int, ChoiceOption]]:
    """Each option with the number a member may type for it (a scale's own values)."""
    return list(zip(translate.option_numbers(choices, answer_kind), choices, strict=True))


def poll_content(message: Outgoing, thread: str | None = None) -> dict[str, Any]:
    """The content of an ``org.matrix.msc3381.poll.start`` asking ``message``: the poll, its
    fallback text (``org.matrix.msc1767.text`` and ``body``), and our own kind and choices."""
    options = numbered(message.choices, message.answer_kind)
    lines = [line for line in (message.title, message.text) if line]
    lines += [
        choice.label if choice.label == str(number) else f"{number}. {choice.label}"
        for number, choice in options
    ]
    lines.append(HOW_TO_ANSWER.in_(message.locale))
    fallback = "\n".join(lines)
    content: dict[str, Any] = {
        POLL_START: {
            "question": {TEXT: message.text, "body": message.text, "msgtype": "m.text"},
            "kind": DISCLOSED,
            "max_selections": 1,
            "answers": [{"id": choice.key, TEXT: choice.label} for _n, choice in options],
        },
        TEXT: fallback,
        "body": fallback,
        "m.mentions": {},
        translate.KIND_KEY: message.kind,
        translate.CHOICES_KEY: [
            {
                "number": number,
                "key": choice.key,
                "label": choice.label,
                "emoji": translate.KEYCAPS[number] if number < len(translate.KEYCAPS) else "",
            }
            for number, choice in options
        ],
    }
    related = translate.relation(thread, None)
    if related:
        content["m.relates_to"] = related
    return content
