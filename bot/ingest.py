"""Answers by the batch: when many replies arrive at once, each batch costs a handful of
statements instead of several per reply. A batch of one is the ordinary case, so this is the
only path answers to a known prompt take; the rules are the same as one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.answered import Done, after_answers
from bot.checkins import checkins_by_pair, in_flight, members_by_account, prompts_by_ref
from bot.conversation import end_turns, take_turns
from bot.domain.answers import Answer, parse_answer
from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.prompts import PromptDef
from bot.domain.values import AnswerType, DeliveryStatus, PromptKind
from bot.events import ChoicePicked, Event, FormSubmitted, InboundEvent, MessageReceived
from bot.i18n import Text, _, translate
from bot.ports import Action, Reply
from bot.storage import models as m
from bot.storage.records import CheckIn, CheckInRevision, Delivery, ProcessedEvent
from bot.webhooks import events as webhooks

log = logging.getLogger(__name__)
NOT_YOURS = _(
    "That question was sent to someone else, so I can't take your answer to it. "
    "Use checkin to answer your own."
)
CLOSED = _("That prompt is no longer open for answers.")
FILE_WITHOUT_WORDS = _(
    "Thank you, but I can only keep typed answers, so the file you sent is not stored. "
    "Please type your answer as a message."
)
FILE_NOT_KEPT = _("Only the words of your message are kept: the file you attached is not stored.")


def unknown_sender(event: Event) -> Text:
    """What someone the alliance file does not name is told."""
    return _(
        "I don't know you yet: ask your alliance's backbone team to add your {platform} "
        "account ({account}) to the alliance file.",
        platform=event.platform,
        account=event.sender,
    )


def answer_ref(event: InboundEvent) -> tuple[str, str, str] | None:
    """(prompt message reference, answer text, source) when ``event`` answers a known prompt."""
    if isinstance(event, ChoicePicked):
        return event.message_ref, event.choice, "button"
    if isinstance(event, FormSubmitted):
        return event.message_ref, next(iter(event.values.values()), ""), "form"
    if isinstance(event, MessageReceived) and not event.edits:
        ref = event.thread or event.in_reply_to
        if ref:
            return ref, event.text, "thread" if event.thread else "reply"
    return None


@dataclass(frozen=True)
class Answered:
    """A check-in was stored: adapters may show it on the prompt message."""

    platform: str
    """The platform the answer came from, where the prompt message is."""
    delivery_id: int
    message_ref: str | None
    address: str
    in_channel: bool
    summary: str


@dataclass
class AnswerItem:
    """One answer: to the prompt message ``ref`` points at, or to a ``delivery`` already found
    (a ``checkin`` command, a direct message, an edit)."""

    event: InboundEvent
    text: str
    source: str
    ref: str = ""
    delivery: Delivery | None = None
    replies: list[Reply] = field(default_factory=list)
    release: bool = False
    """Forget the event id (it stored nothing), as one event at a time would."""
    wait: bool = False
    """It points at no prompt yet while one of the member's prompts is being sent: try again
    once that send's outcome is recorded (the answer may be quicker than our bookkeeping)."""


def item_for(event: InboundEvent) -> AnswerItem:
    found = answer_ref(event)
    assert found is not None, "only answers to a prompt message go by the batch"
    ref, text, source = found
    return AnswerItem(event, text, source, ref)


@dataclass
class Batch:
    replies: list[list[Reply]]
    """In the order of the items."""
    later: list[InboundEvent]
    """A second answer to the same prompt within the batch: handle in the next one."""
    plain: list[InboundEvent]
    """Direct messages replying to something that is not a prompt: handle one at a time."""
    waiting: list[InboundEvent] = field(default_factory=list)
    """Answers to a message that may be a prompt still being recorded (``AnswerItem.wait``)."""


def _insert(s: AsyncSession) -> Any:
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def answer_many(
    s: AsyncSession,
    items: Sequence[AnswerItem],
    now: datetime,
    prompt: Callable[[str], Awaitable[PromptDef]],
    answered: list[Answered],
    *,
    claim: bool = True,
    patient: bool = False,
) -> Batch:
    """Store answers in one transaction.

    ``claim`` records each event id first, so a replayed event changes nothing; the caller may
    have done that already (one event at a time)."""
    keys = [(i.event.platform, i.event.event_id) for i in items]
    if claim:
        new = {
            tuple(row)
            for row in (
                await s.execute(
                    _insert(s)(ProcessedEvent.__table__)
                    .on_conflict_do_nothing(index_elements=["platform", "event_id"])
                    .returning(ProcessedEvent.platform, ProcessedEvent.event_id),
                    [
                        {"platform": p, "event_id": e, "processed_at": now}
                        for p, e in dict.fromkeys(keys)
                    ],
                )
            ).all()
        }
    else:
        new = set(keys)
    fresh = [i for i in items if (i.event.platform, i.event.event_id) in new]
    members = await members_by_account(s, {(i.event.platform, i.event.sender) for i in fresh})
    found = await prompts_by_ref(s, {(i.event.platform, i.ref) for i in fresh if i.ref})
    for i in fresh:
        if i.delivery is None and i.ref:
            i.delivery = found.get((i.event.platform, i.ref))
    pairs = {
        (i.delivery.id, mem.id)
        for i in fresh
        if i.delivery is not None and (mem := members.get((i.event.platform, i.event.sender)))
    }
    existing = await checkins_by_pair(s, pairs)
    later: list[InboundEvent] = []
    plain: list[InboundEvent] = []
    taken: set[tuple[int, int]] = set()
    rows: list[dict[str, Any]] = []
    offers: dict[tuple[int, int], tuple[AnswerItem, str]] = {}
    seen: set[tuple[str, str]] = set()
    edited: list[CheckIn] = []
    done: dict[tuple[int, int], Done] = {}
    for item in fresh:
        event = item.event
        if (event.platform, event.event_id) in seen:
            continue  # the same event twice in one batch (a platform's retry): once is enough
        seen.add((event.platform, event.event_id))
        member = members.get((event.platform, event.sender))
        delivery = item.delivery
        try:
            if member is None:
                if isinstance(event, MessageReceived) and not event.is_direct:
                    continue
                raise UserError(unknown_sender(event))
            if delivery is None and item.ref and patient and await in_flight(s, member.id):
                item.wait = item.release = True
                continue
            if delivery is None or delivery.prompt_id is None:
                if isinstance(event, MessageReceived) and item.ref:
                    if event.is_direct:  # a reply to some other message in a DM
                        plain.append(event)
                    item.release = True  # in a channel, a thread that is not a prompt's: chat
                    continue
                raise UserError(CLOSED)
            if delivery.member_id not in (None, member.id):
                raise UserError(NOT_YOURS)
            if (delivery.id, member.id) in taken:
                later.append(event)
                new.discard((event.platform, event.event_id))
                item.release = True
                continue
            if _files(event) and not item.text.strip():  # a photo alone: not an answer
                raise UserError(FILE_WITHOUT_WORDS)
            definition = await prompt(delivery.prompt_id)
            answer = parse_answer(definition, item.text, member.locale)
        except UserError as exc:
            item.replies = [Reply(exc.in_(member.locale if member is not None else "en"))]
            item.release = True
            continue
        taken.add((delivery.id, member.id))
        label = Period.parse_key(delivery.period_key).label(member.locale)
        display = answer.display(definition, member.locale)
        before = existing.get((delivery.id, member.id))
        if before is not None:
            old = Answer(before.answer_text, before.answer_number, before.answer_choice).display(
                definition, member.locale
            )
            _edit(s, before, answer, item.source, now)
            edited.append(before)
            done[(delivery.id, member.id)] = _done(item, member, definition, delivery, answer)
            done[(delivery.id, member.id)].checkin_id = before.id
            updated = _(
                "Updated your answer for {period} (it was “{before}”). Now:",
                period=label,
                before=old,
            )
            item.replies = [Reply(translate(updated, member.locale), quoted=display)]
        else:
            rows.append(_row(delivery, member, definition, answer, item, now))
            recorded = _("Thank you! Recorded for {period}:", period=label)
            item.replies = [Reply(translate(recorded, member.locale), quoted=display)]
            if _files(event):  # the words are kept, not the photo: said once, with the thanks
                item.replies.append(Reply(translate(FILE_NOT_KEPT, member.locale)))
            if definition.kind == PromptKind.EXERCISE and definition.answer == AnswerType.TEXT:
                offers[(delivery.id, member.id)] = (item, member.locale)
            done[(delivery.id, member.id)] = _done(item, member, definition, delivery, answer)
        answered.append(
            Answered(
                event.platform,
                delivery.id,
                delivery.message_ref,
                delivery.address or "",
                delivery.channel_id is not None,
                display,
            )
        )
    if rows:
        stored = await s.execute(
            _insert(s)(CheckIn.__table__).returning(
                CheckIn.id, CheckIn.delivery_id, CheckIn.member_id
            ),
            rows,
        )
        new_ids = []
        for checkin_id, delivery_id, member_id in stored.all():
            _offer_share(offers.get((delivery_id, member_id)), checkin_id)
            new_ids.append(checkin_id)
            done[(delivery_id, member_id)].checkin_id = checkin_id
        await webhooks.checkins_changed(s, now, stored=new_ids, figures=_figures(rows))
    if edited:
        await webhooks.checkins_changed(
            s, now, edited=[c.id for c in edited], figures=_figures(edited)
        )
    await after_answers(s, now, list(done.values()))
    taken_ids = {delivery_id for delivery_id, _member in taken}

    settled = {
        i.delivery.id: i.delivery
        for i in fresh
        if i.delivery is not None and i.delivery.id in taken_ids
    }
    await _settle_deliveries(s, list(settled.values()), now)
    released = [(i.event.platform, i.event.event_id) for i in items if i.release]
    if released and claim:
        await s.execute(
            delete(ProcessedEvent).where(
                tuple_(ProcessedEvent.platform, ProcessedEvent.event_id).in_(released)
            )
        )
    waiting = [i.event for i in items if i.wait]
    return Batch([i.replies for i in items], later, plain, waiting)


def _figures(found: Sequence[dict[str, Any] | CheckIn]) -> list[tuple[int, str, int]]:
    """The figures (measure, period, organisation) that ``found`` reported."""
    keys = [
        (r["measure_id"], r["period_key"], r["organisation_id"])
        if isinstance(r, dict)
        else (r.measure_id, r.period_key, r.organisation_id)
        for r in found
    ]
    return [(mid, period, org) for mid, period, org in keys if mid is not None]


def _done(
    item: AnswerItem, member: m.Member, prompt: PromptDef, delivery: Delivery, answer: Answer
) -> Done:
    return Done(item, member, prompt, delivery, 0, answer.text, answer.choice)


def _offer_share(offer: tuple[AnswerItem, str] | None, checkin_id: int) -> None:
    """A written answer to an exercise may go into the alliance-wide highlights if its author
    says so: offer that with the thank-you (a button on Slack, the command elsewhere)."""
    if offer is not None:
        item, locale = offer
        share = Action(translate(_("Share with the alliance"), locale), f"share {checkin_id}")

        item.replies = [replace(r, actions=(share,)) for r in item.replies]


def _row(
    delivery: Delivery,
    member: m.Member,
    prompt: PromptDef,
    answer: Answer,
    item: AnswerItem,
    now: datetime,
) -> dict[str, Any]:
    return {
        "delivery_id": delivery.id,
        "member_id": member.id,
        "organisation_id": delivery.organisation_id or member.organisation_id,
        "prompt_id": prompt.id,
        "measure_id": delivery.measure_id,
        "period_key": delivery.period_key,
        "answer_text": answer.text,
        "answer_number": answer.number,
        "answer_choice": answer.choice,
        "source": item.source,
        "platform": item.event.platform,
        "event_ref": item.event.event_id,
        "answered_at": now,
        "edited_at": None,
        "starred": False,
        "starred_ref": None,
        "shareable": False,
    }


def _edit(s: AsyncSession, checkin: CheckIn, answer: Answer, source: str, now: datetime) -> None:
    s.add(
        CheckInRevision(
            checkin_id=checkin.id,
            answer_text=checkin.answer_text,
            answer_number=checkin.answer_number,
            answer_choice=checkin.answer_choice,
            source=checkin.source,
            recorded_at=checkin.edited_at or checkin.answered_at,
            replaced_at=now,
        )
    )
    checkin.answer_text = answer.text
    checkin.answer_number = answer.number
    checkin.answer_choice = answer.choice
    checkin.source = source
    checkin.edited_at = now


async def _settle_deliveries(s: AsyncSession, deliveries: list[Delivery], now: datetime) -> None:
    """Answered prompts: no more reminders, and each member's next question is asked; a
    skipped one answered after all counts again."""
    personal = [d.id for d in deliveries if d.member_id is not None]
    if personal:
        await end_turns(s, personal)
        await take_turns(s, now, {d.member_id for d in deliveries if d.member_id is not None})
        await s.execute(update(Delivery).where(Delivery.id.in_(personal)).values(remind_at=None))
        await s.execute(
            update(Delivery)
            .where(Delivery.id.in_(personal), Delivery.status == DeliveryStatus.SKIPPED.value)
            .values(status=DeliveryStatus.SENT.value)
        )
    reminded = [d.id for d in deliveries if d.reminders_sent]
    if reminded:
        await s.execute(
            update(Delivery)
            .where(
                Delivery.parent_id.in_(reminded), Delivery.status == DeliveryStatus.PENDING.value
            )
            .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
        )


__all__ = ["AnswerItem", "Answered", "Event", "answer_many", "answer_ref", "item_for"]


def _files(event: Event) -> int:
    return event.files if isinstance(event, MessageReceived) else 0
