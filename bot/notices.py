"""Messages from the bot itself to members (an admin told a webhook was disabled).

A notice is an outbox row (kind ``notice``) written in the transaction that decided it, like
a reply: it holds the sentence untranslated (its msgid and values), and the renderer words it
in each reader's language when it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.values import DeliveryKind, DeliveryStatus, Lane, Role
from bot.i18n import Number, Text
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.records import Delivery


def stored(text: Text) -> dict[str, Any]:
    """``text`` as an outbox row keeps it (JSON): its values are plain (str, int, float) or
    a :class:`Number`, kept as ``{"number": …}`` so the reader sees it their way."""
    values = {
        k: {"number": v.value} if isinstance(v, Number) else v for k, v in text.values.items()
    }
    return {"msgid": text.msgid, "plural": text.plural, "n": text.n, "values": values}


def text_of(payload: dict[str, Any], key: str = "text") -> Text:
    """The sentence :func:`stored` kept under ``key``."""
    kept = payload.get(key) or {}
    values = {
        k: Number(v["number"]) if isinstance(v, dict) and "number" in v else v
        for k, v in dict(kept.get("values") or {}).items()
    }
    return Text(str(kept.get("msgid", "")), kept.get("plural"), kept.get("n"), values)


async def tell_admins(s: AsyncSession, now: datetime, text: Text, key: str) -> int:
    """Send ``text`` to every active admin; ``key`` names the occasion (told once)."""
    admins = (
        await s.execute(
            select(m.Member.id, m.Member.locale).where(
                m.Member.active, m.Member.role == Role.ADMIN.value
            )
        )
    ).all()
    rows = [
        {
            "dedupe_key": f"n:{key}:m{member}"[:255],
            "kind": DeliveryKind.NOTICE.value,
            "lane": int(Lane.REPLIES),
            "member_id": member,
            "scheduled_at": now,
            "next_attempt_at": now,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "reminders_sent": 0,
            "period_key": "",
            "occurrence": "",
            "locale": locale or "",
            "payload": {"text": stored(text)},
            "created_at": now,
        }
        for member, locale in admins
    ]
    return await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key")
