"""Turning inbound events into check-ins and replies, each event in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.checkins import delivery_by_ref, latest_open, record_answer
from bot.commands import CommandContext, run_command
from bot.directory import member_by_account
from bot.domain.answers import Answer
from bot.domain.errors import UserError
from bot.domain.prompts import PromptDef
from bot.domain.values import DeliveryStatus
from bot.events import (
    ChoicePicked,
    CommandReceived,
    Event,
    FormSubmitted,
    InboundEvent,
    MessageReceived,
    Undecryptable,
)
from bot.ports import Clock, Reply
from bot.render import load_prompts
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery, ProcessedEvent

log = logging.getLogger(__name__)
SORRY = (
    "Sorry, something went wrong on my side and your message was not saved. "
    "Please try again in a minute; the backbone team has been told."
)


@dataclass(frozen=True)
class Answered:
    """A check-in was stored: adapters may show it on the prompt message."""

    delivery_id: int
    message_ref: str | None
    address: str
    in_channel: bool
    summary: str


class Service:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        planner: Planner,
        on_answered: Callable[[Answered, str], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.planner = planner
        self.on_answered = on_answered
        self._prompts: dict[str, PromptDef] = {}

    async def handle(self, event: InboundEvent) -> list[Reply]:
        """Decide what ``event`` means; a replayed event id changes nothing and says nothing."""
        answered: list[Answered] = []
        try:
            async with self.db.session() as s:
                if (
                    await s.scalar(
                        select(ProcessedEvent.id).where(
                            ProcessedEvent.platform == event.platform,
                            ProcessedEvent.event_id == event.event_id,
                        )
                    )
                    is not None
                ):
                    return []
                s.add(
                    ProcessedEvent(
                        platform=event.platform,
                        event_id=event.event_id,
                        processed_at=self.clock.now(),
                    )
                )
                replies = await self._decide(s, event, answered)
        except UserError as exc:
            return [Reply(str(exc))]
        except IntegrityError:
            log.info("event %s/%s was handled concurrently", event.platform, event.event_id)
            return []
        except Exception:
            log.exception("could not handle %s event %s", event.platform, event.event_id)
            return [Reply(SORRY)]
        if self.on_answered:
            for item in answered:
                self.on_answered(item, event.platform)
        return replies

    async def prompt(self, s: AsyncSession, prompt_id: str) -> PromptDef:
        """Prompt definitions change only when an alliance file is loaded: cache them."""
        if prompt_id not in self._prompts:
            self._prompts = await load_prompts(s)
        return self._prompts[prompt_id]

    def forget_prompts(self) -> None:
        self._prompts = {}

    async def member_for(self, s: AsyncSession, event: Event) -> m.Member | None:
        return await member_by_account(s, event.platform, event.sender)

    async def _decide(
        self, s: AsyncSession, event: InboundEvent, answered: list[Answered]
    ) -> list[Reply]:
        member = await self.member_for(s, event)
        if member is None:
            if isinstance(event, MessageReceived) and not event.is_direct:
                return []
            raise UserError(
                "I don't know you yet: ask your alliance's backbone team to add "
                f"your {event.platform} account ({event.sender}) to the alliance "
                "file."
            )
        if isinstance(event, Undecryptable):
            return [
                Reply(
                    "I could not read your last message (it arrived encrypted with a key "
                    "I don't have). Please send it again; nothing was saved."
                )
            ]
        if isinstance(event, CommandReceived):

            async def answer(delivery: Delivery, text: str, source: str) -> list[Reply]:
                assert member is not None
                return await self.answer(s, member, delivery, text, source, event, answered)

            ctx = CommandContext(s, member, event, self.clock.now(), self.planner, answer)
            return await run_command(ctx, event.name, event.args)
        if isinstance(event, ChoicePicked | FormSubmitted):
            delivery = await delivery_by_ref(s, event.platform, event.message_ref)
            if delivery is None:
                raise UserError("That prompt is no longer open for answers.")
            text = (
                event.choice
                if isinstance(event, ChoicePicked)
                else next(iter(event.values.values()), "")
            )
            source = "button" if isinstance(event, ChoicePicked) else "form"
            return await self.answer(s, member, delivery, text, source, event, answered)
        return await self._message(s, member, event, answered)

    async def _message(
        self, s: AsyncSession, member: m.Member, event: MessageReceived, answered: list[Answered]
    ) -> list[Reply]:
        if event.edits:
            checkin = await s.scalar(
                select(CheckIn).where(
                    CheckIn.event_ref == event.edits, CheckIn.member_id == member.id
                )
            )
            if checkin is not None and checkin.delivery_id is not None:
                delivery = await s.get(Delivery, checkin.delivery_id)
                if delivery is not None:
                    return await self.answer(
                        s, member, delivery, event.text, "edit", event, answered
                    )
            return []
        ref = event.thread or event.in_reply_to
        delivery = await delivery_by_ref(s, event.platform, ref) if ref else None
        if delivery is not None:
            source = "thread" if event.thread else "reply"
            return await self.answer(s, member, delivery, event.text, source, event, answered)
        if not event.is_direct:
            return []
        delivery = await latest_open(s, member, self.clock.now(), event.platform)
        if delivery is None:
            return [
                Reply("I have no open question for you right now. Type help to see what I can do.")
            ]
        return await self.answer(s, member, delivery, event.text, "direct", event, answered)

    async def answer(
        self,
        s: AsyncSession,
        member: m.Member,
        delivery: Delivery,
        text: str,
        source: str,
        event: Event,
        answered: list[Answered],
    ) -> list[Reply]:
        if delivery.member_id not in (None, member.id):
            raise UserError(
                "That question was sent to someone else, so I can't take your "
                "answer to it. Use checkin to answer your own."
            )
        if delivery.status == DeliveryStatus.SKIPPED.value and delivery.member_id == member.id:
            delivery.status = DeliveryStatus.SENT.value
        prompt = await self.prompt(s, delivery.prompt_id or "")
        recorded = await record_answer(
            s,
            delivery=delivery,
            member=member,
            prompt=prompt,
            text=text,
            source=source,
            platform=event.platform,
            now=self.clock.now(),
            event_ref=event.event_id,
        )
        answered.append(
            Answered(
                delivery.id,
                delivery.message_ref,
                delivery.address or "",
                delivery.channel_id is not None,
                recorded.answer_display,
            )
        )
        return [Reply(recorded.message, quoted=recorded.answer_display)]


__all__ = ["Answer", "Answered", "Service"]
