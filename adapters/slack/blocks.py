"""Pure rendering of what the core says into Slack messages and modals (Block Kit; the App Home
is ``home.py``).

Everything the bot posts is escaped (``&``, ``<``, ``>``): the core's text is plain text and may
carry member words, so ``<!channel>``, ``<!here>``, ``<!everyone>``, ``<@U…>`` and
``<!subteam^…>`` typed by a member are shown as text and never notify anyone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.i18n import _
from adapters.slack.digest_blocks import digest_blocks
from adapters.slack.mrkdwn import escape as escape  # port.py and tests take it from here
from adapters.slack.mrkdwn import is_table, listed
from adapters.slack.translate import (
    ACTION_ANSWER,
    ACTION_CHOICE,
    ACTION_SELECT,
    ACTION_SKIP,
    ANSWER_BLOCK,
    ANSWER_INPUT,
    MODAL_CALLBACK,
    modal_metadata,
)
from bot.digest.render import document_locale, read_document
from bot.i18n import translate
from bot.ports import COMMAND_BUTTON, Action, Outgoing, Reply

Block = dict[str, Any]
METADATA_EVENT = "alliance_delivery"
METADATA_REPLY = "alliance_reply"
SECTION_CHARS = 2900  # Slack allows 3,000 per section
MAX_BLOCKS = 50
MAX_BUTTONS = 20  # above this, a select menu (an actions block holds 25 elements)
_ALIGNED = re.compile(r"\S {3,}\S")


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    """A plain_text object (buttons, headers, labels: Slack never parses mentions there)."""
    return {"type": "plain_text", "text": _cut(text, limit) or " ", "emoji": True}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, size: int = SECTION_CHARS) -> list[str]:
    """Split on line ends into pieces a section takes."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        while len(line) > size:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:size])
            line = line[size:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > size:
            pieces.append(current)
            current = line
        else:
            current = candidate
    pieces.append(current)
    return [p for p in pieces if p.strip()]


def text_blocks(text: str) -> list[Block]:
    """Sections of escaped text. A column-aligned list (the help) reads as a Slack list of
    `commands`; a table (several columns) keeps its columns in a fixed-width block."""
    aligned = any(_ALIGNED.search(line) for line in text.splitlines())
    table = aligned and is_table(text)
    size = SECTION_CHARS - 8 if table else SECTION_CHARS
    blocks = []
    for piece in _chunks(listed(escape(text)) if aligned and not table else escape(text), size):
        shown = f"```\n{piece}\n```" if table else piece
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": shown}})
    return blocks


def quote_blocks(quoted: str) -> list[Block]:
    """Member words echoed back as a quote ("> " is Slack's quote mark, the words escaped)."""
    lines = [f">{' ' if line else ''}{escape(line)}" for line in quoted.splitlines()]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in _chunks("\n".join(lines))
    ]


def fallback_text(title: str, text: str, quoted: str = "") -> str:
    """The notification text Slack shows where blocks are not rendered, escaped too."""
    parts = [title, text] + [f"> {line}" for line in quoted.splitlines()]
    return _cut(escape("\n".join(p for p in parts if p)), 3900)


def _fit(blocks: list[Block]) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": "(shortened)"}]}
    return blocks[: MAX_BLOCKS - 1] + [note]


_MENTION = re.compile(r"<(?=[!@#])")


def provided_blocks(formats: Mapping[str, str]) -> list[Block] | None:
    """The blocks of a message that brings its own: the core's digest rendered here
    (``digest_blocks``), or Block Kit given as JSON (``formats["slack_blocks"]``), if usable.

    Member text is escaped where the blocks are made; as a second line of defence any ``<!…>``,
    ``<@…>`` or ``<#…>`` left in mrkdwn is neutralised here too. Links (``<https://…|…>``)
    are kept."""
    digest = read_document(formats)
    if digest is not None:
        blocks = digest_blocks(digest, document_locale(formats))
    else:
        blocks = _given(formats.get("slack_blocks"))
    if blocks is None:
        return None

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                return {**node, "text": _MENTION.sub("&lt;", node["text"])}
            return {key: clean(value) for key, value in node.items()}
        if isinstance(node, list):
            return [clean(value) for value in node]
        return node

    return [clean(block) for block in blocks]


def _given(raw: str | None) -> list[Block] | None:
    if not raw:
        return None
    try:
        blocks = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return None
    return blocks


def _body(title: str, text: str, quoted: str, formats: Mapping[str, str]) -> list[Block]:
    provided = provided_blocks(formats)
    if provided is not None:
        return provided + quote_blocks(quoted)
    blocks: list[Block] = []
    if title:
        blocks.append({"type": "header", "text": plain(title, 150)})
    return blocks + text_blocks(text) + quote_blocks(quoted)


def message_payload(message: Outgoing) -> dict[str, Any]:
    """``chat.postMessage`` arguments (without channel) for an outbox message.

    Prompts and reminders get their choice buttons, an “Answer” button that opens a form (for
    text and number answers) and “Skip this time”; every outbox message carries metadata with
    its kind and delivery, so the message itself says what it is.
    """
    blocks = _body(message.title, message.text, message.quoted, message.formats)
    if message.delivery_id is not None and message.kind in ("prompt", "reminder"):
        blocks += prompt_controls(message)
    payload: dict[str, Any] = {
        "text": fallback_text(message.title, message.text, message.quoted),
        "blocks": _fit(blocks),
    }
    if message.delivery_id is not None or message.kind != "message":
        payload["metadata"] = {
            "event_type": METADATA_EVENT,
            "event_payload": {
                "kind": message.kind,
                "delivery_id": message.delivery_id or 0,
                "answer_kind": message.answer_kind,
                "locale": message.locale,
                **({"key": message.idempotency_key} if message.idempotency_key else {}),
            },
        }
    return payload


def prompt_controls(message: Outgoing) -> list[Block]:
    elements: list[dict[str, Any]] = []
    choices = message.choices
    if len(choices) > MAX_BUTTONS:
        options = [{"text": plain(c.label), "value": _cut(c.key, 150)} for c in choices[:100]]
        elements.append(
            {
                "type": "static_select",
                "action_id": ACTION_SELECT,
                "placeholder": plain(translate(_("Pick one"), message.locale)),
                "options": options,
            }
        )
    else:
        elements += [
            {
                "type": "button",
                "action_id": f"{ACTION_CHOICE}_{i}",
                "text": plain(c.label),
                "value": _cut(c.key, 2000),
            }
            for i, c in enumerate(choices, 1)
        ]
    if not choices:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_ANSWER,
                "style": "primary",
                "text": plain(translate(_("Answer"), message.locale)),
                "value": f"{message.answer_kind or 'text'} {message.locale}",
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": ACTION_SKIP,
            "text": plain(translate(_("Skip this time"), message.locale)),
            "value": "skip",
        }
    )
    hint = translate(
        _("Reply in this thread, pick an option or use a button.")
        if choices
        else _("Reply in this thread or use a button."),
        message.locale,
    )
    return [
        {"type": "actions", "block_id": f"prompt:{message.delivery_id}", "elements": elements},
        {
            "type": "context",
            "block_id": "prompt-hint",
            "elements": [{"type": "mrkdwn", "text": hint}],
        },
    ]


def reply_payload(reply: Reply, key: str | None = None) -> dict[str, Any]:
    """``chat.postMessage``/``chat.postEphemeral`` arguments for the core's answer to an event;
    ``key`` (the outbox's) goes in its metadata, so a retry can find it was posted."""
    blocks = _body(reply.title, reply.text, reply.quoted, reply.formats)
    if reply.actions:
        blocks = _fit(blocks)[: MAX_BLOCKS - 1] + [action_buttons(reply.actions)]
    payload: dict[str, Any] = {
        "text": fallback_text(reply.title, reply.text, reply.quoted),
        "blocks": _fit(blocks),
    }
    if key:
        payload["metadata"] = {"event_type": METADATA_REPLY, "event_payload": {"key": key}}
    return payload


def action_buttons(actions: Sequence[Action]) -> Block:
    """A reply's next steps as buttons; each press runs its command (COMMAND_BUTTON)."""
    return {
        "type": "actions",
        "block_id": "reply_actions",
        "elements": [
            {
                "type": "button",
                "action_id": COMMAND_BUTTON if n == 0 else f"{COMMAND_BUTTON}_{n}",
                "text": {"type": "plain_text", "text": _cut(action.label, 75)},
                "value": action.command[:2000],
            }
            for n, action in enumerate(actions[:25])
        ],
    }


def answered_payload(original: Mapping[str, Any] | None, summary: str) -> dict[str, Any]:
    """``chat.update`` arguments: the prompt as it was, its buttons replaced by the answer."""
    meta = (original or {}).get("metadata") or {}
    locale = str((meta.get("event_payload") or {}).get("locale") or "en")
    received = f"✅ {translate(_('Answer received'), locale)}"
    note = received
    if summary:
        note = "✅ " + translate(_("Answer received: {answer}", answer=escape(summary)), locale)
    kept: list[Block] = []
    text = ""
    if original is not None:
        text = str(original.get("text") or "").split("\n✅ ", 1)[0]
        for block in original.get("blocks") or []:
            if block.get("type") == "actions" or block.get("block_id") == "prompt-hint":
                continue
            if block.get("block_id") == "answered":
                continue
            kept.append(dict(block))
    kept.append(
        {
            "type": "context",
            "block_id": "answered",
            "elements": [{"type": "mrkdwn", "text": _cut(note, 2900)}],
        }
    )
    return {"text": _cut(f"{text}\n{note}".strip(), 3900), "blocks": _fit(kept)}


def answer_modal(
    ref: str, question: str, answer_kind: str, root: str | None = None, locale: str = "en"
) -> dict[str, Any]:
    """The “Answer” form; ``ref`` (CHANNEL:TS of the prompt) and the ts of its thread's root
    travel as private_metadata."""
    number = answer_kind == "number"
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ANSWER_INPUT,
        "multiline": not number,
        "max_length": 4000,
    }
    block: dict[str, Any] = {
        "type": "input",
        "block_id": ANSWER_BLOCK,
        "label": plain(translate(_("Your answer"), locale), 2000),
        "element": element,
    }
    if number:
        block["hint"] = plain(translate(_("A number, like 12"), locale), 2000)
    blocks: list[Block] = []
    if question.strip():
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(question, SECTION_CHARS)}}
        )
    blocks.append(block)
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": modal_metadata(ref, root),
        "title": plain(translate(_("Check-in"), locale), 24),
        "submit": plain(translate(_("Send"), locale), 24),
        "close": plain(translate(_("Cancel"), locale), 24),
        "blocks": blocks,
    }


def question_of(message: Mapping[str, Any] | None) -> str:
    """The question text of a prompt message from an interaction payload (already escaped)."""
    if not message:
        return ""
    sections = [
        str(b["text"].get("text", ""))
        for b in message.get("blocks") or []
        if b.get("type") == "section" and isinstance(b.get("text"), Mapping)
    ]
    return "\n".join(sections) or str(message.get("text") or "")
