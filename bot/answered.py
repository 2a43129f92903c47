"""What an answer sets off beyond its check-in, in the transaction that stores it: the
connections a connection exercise names (read, then confirmed by the member with one tap),
and the state of the connection a follow-up asked about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.prompts import PromptDef
from bot.partners import follow_up
from bot.partners.store import known, read_answer, reads
from bot.ports import Reply
from bot.storage import models as m
from bot.storage.records import Delivery


class Replied(Protocol):
    replies: list[Reply]


@dataclass
class Done:
    """One answer stored (or edited) in a batch."""

    event: Replied
    """What holds the replies to the event (a reading's question is added to them)."""
    member: m.Member
    prompt: PromptDef
    delivery: Delivery
    checkin_id: int
    text: str
    choice: str | None


async def after_answers(s: AsyncSession, now: datetime, done: Sequence[Done]) -> None:
    for item in done:
        if (item.delivery.payload or {}).get("partnership") is not None:
            await follow_up.answered(s, item.delivery, item.choice, now)
    reading = [d for d in done if reads(d.prompt) and d.text.strip()]
    if not reading:
        return
    orgs = await known(s)
    slugs = dict(
        (
            await s.execute(
                select(m.Organisation.id, m.Organisation.slug).where(
                    m.Organisation.id.in_({d.member.organisation_id for d in reading})
                )
            )
        ).all()
    )
    for item in reading:
        asked = await read_answer(
            s,
            now,
            checkin_id=item.checkin_id,
            member=item.member,
            own=slugs[item.member.organisation_id],
            prompt=item.prompt,
            text=item.text,
            orgs=orgs,
        )
        if asked is not None:
            item.event.replies.append(asked)
