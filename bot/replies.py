"""Replies to people go through the outbox: stored with the effect of the event they answer.

A reply row is written in the same transaction as the check-in (or whatever else the event
did), so a crash after the commit still delivers the acknowledgement after the restart, and a
replayed event adds no second reply (each reply's key derives from the event's id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.values import DeliveryKind, DeliveryStatus, Lane
from bot.ports import Action, Attachment, Reply, ReplyTo
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.records import Delivery, OutboxFile


def reply_prefix(platform: str, event_id: str) -> str:
    digest = hashlib.sha256(f"{platform}\x00{event_id}".encode()).hexdigest()[:40]
    return f"r:{digest}:"


def reply_key(to: ReplyTo, index: int) -> str:
    return f"{reply_prefix(to.platform, to.event_id)}{index}"


def _payload(to: ReplyTo, reply: Reply) -> dict[str, Any]:
    return {
        "to": asdict(to),
        "reply": {
            "text": reply.text,
            "quoted": reply.quoted,
            "private": reply.private,
            "title": reply.title,
            "formats": dict(reply.formats),
            "actions": [[a.label, a.command] for a in reply.actions],
            "alts": [a.alt for a in reply.attachments],  # the files' words for screen readers
        },
    }


async def enqueue_replies(
    s: AsyncSession, to: ReplyTo, replies: Sequence[Reply], now: datetime
) -> int:
    """Add ``replies`` to the outbox, in the caller's transaction; returns how many were new."""
    if not replies:
        return 0
    rows = [
        {
            "dedupe_key": reply_key(to, index),
            "kind": DeliveryKind.REPLY.value,
            "lane": int(Lane.REPLIES),
            "platform": to.platform,
            "scheduled_at": now,
            "next_attempt_at": now,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "reminders_sent": 0,
            "period_key": "",
            "occurrence": "",
            "locale": "",
            "payload": _payload(to, reply),
            "created_at": now,
        }
        for index, reply in enumerate(replies)
    ]
    created = await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")
    with_files = {reply_key(to, i): r for i, r in enumerate(replies) if r.attachments}
    if with_files and created:
        ids = dict(
            (
                await s.execute(
                    select(Delivery.dedupe_key, Delivery.id).where(
                        Delivery.dedupe_key.in_(list(with_files))
                    )
                )
            ).all()
        )
        for key, reply in with_files.items():
            for attachment in reply.attachments:
                s.add(
                    OutboxFile(
                        delivery_id=ids[key],
                        filename=attachment.filename,
                        mime_type=attachment.mime_type,
                        title=attachment.title,
                        content=attachment.content,
                    )
                )
    return created


def reply_of(payload: dict[str, Any], files: Sequence[OutboxFile]) -> tuple[ReplyTo, Reply]:
    """The stored reply and where it goes, as ``enqueue_replies`` wrote them."""
    body = payload.get("reply") or {}
    to = ReplyTo(**(payload.get("to") or {}))
    reply = Reply(
        text=str(body.get("text", "")),
        quoted=str(body.get("quoted", "")),
        private=bool(body.get("private", True)),
        title=str(body.get("title", "")),
        formats=dict(body.get("formats") or {}),
        actions=tuple(
            Action(str(label), str(command)) for label, command in body.get("actions", [])
        ),
        attachments=tuple(
            Attachment(f.filename, f.content, f.mime_type, f.title, _alt(body, n))
            for n, f in enumerate(files)
        ),
    )
    return to, reply


def _alt(body: dict[str, Any], index: int) -> str:
    """The ``index``-th file's text alternative, as ``_payload`` kept it (none before it did)."""
    alts = body.get("alts") or []
    return str(alts[index]) if index < len(alts) and alts[index] else ""
