"""Turning inbound events into check-ins and replies, each event in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.checkins import latest_open
from bot.commands import CommandContext, run_command
from bot.digest.stars import on_reaction
from bot.directory import member_by_account
from bot.domain.errors import UserError
from bot.domain.prompts import PromptDef
from bot.events import (
    ChoicePicked,
    CommandReceived,
    Event,
    FormSubmitted,
    InboundEvent,
    MessageReceived,
    Reacted,
    Retracted,
    Undecryptable,
)
from bot.ingest import Answered, AnswerItem, answer_many, answer_ref, item_for
from bot.ports import Clock, Reply
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.bulk import claim_once
from bot.storage.database import Database
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, Delivery, ProcessedEvent

log = logging.getLogger(__name__)
SORRY = (
    "Sorry, something went wrong on my side and your message was not saved. "
    "Please try again in a minute; the backbone team has been told."
)


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
        self._source: str | None = None
        """The alliance file's digest the cached prompts came from."""

    async def handle(self, event: InboundEvent) -> list[Reply]:
        """Decide what ``event`` means; a replayed event id changes nothing and says nothing."""
        if answer_ref(event) is not None:
            return (await self.handle_answers([event]))[0]
        return await self.handle_one(event)

    async def handle_one(self, event: InboundEvent) -> list[Reply]:
        """Anything but an answer to a prompt message: commands, direct messages, edits."""
        answered: list[Answered] = []
        try:
            async with self.db.session() as s:
                first_time = await claim_once(
                    s,
                    ProcessedEvent,
                    {
                        "platform": event.platform,
                        "event_id": event.event_id,
                        "processed_at": self.clock.now(),
                    },
                    ("platform", "event_id"),
                )
                if not first_time:
                    return []
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

    async def _fresh_prompts(self, s: AsyncSession) -> None:
        """Drop the cached prompts when an alliance file was loaded since (by this runtime, or
        by ``alliance load`` from the command line beside it): one key lookup per batch."""
        source = await s.scalar(select(m.Alliance.source_digest).where(m.Alliance.id == 1))
        if source != self._source:
            self._prompts, self._source = {}, source

    async def member_for(self, s: AsyncSession, event: Event) -> m.Member | None:
        return await member_by_account(s, event.platform, event.sender)

    async def _decide(
        self, s: AsyncSession, event: InboundEvent, answered: list[Answered]
    ) -> list[Reply]:
        member = await self.member_for(s, event)
        if isinstance(event, Reacted | Retracted):
            await on_reaction(s, member, event)
            return []
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
        if not isinstance(event, MessageReceived):  # answers to prompt messages go by batch
            raise AssertionError(f"{type(event).__name__} is handled by handle_answers")
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
        """One answer to a prompt already found (a command, a direct message, an edit)."""
        assert isinstance(event, MessageReceived | CommandReceived | ChoicePicked | FormSubmitted)
        item = AnswerItem(event, text, source, delivery=delivery)
        await self._fresh_prompts(s)
        batch = await answer_many(
            s, [item], self.clock.now(), lambda pid: self.prompt(s, pid), answered, claim=False
        )
        replies = batch.replies[0]
        if item.release:  # refused: roll the whole event back, as UserError does elsewhere
            raise UserError(replies[0].text)
        return replies

    async def handle_answers(self, events: list[InboundEvent]) -> list[list[Reply]]:
        """Answers to prompt messages, many in one transaction (see bot/ingest.py)."""
        answered: list[Answered] = []
        try:
            async with self.db.session() as s:
                await self._fresh_prompts(s)
                batch = await answer_many(
                    s,
                    [item_for(e) for e in events],
                    self.clock.now(),
                    lambda pid: self.prompt(s, pid),
                    answered,
                )
        except IntegrityError:
            if len(events) == 1:  # handled concurrently elsewhere
                return [[]]
            return [(await self.handle_answers([e]))[0] for e in events]
        except Exception:
            log.exception("could not store a batch of %d answers", len(events))
            return [[Reply(SORRY)] for _ in events]
        self._announce(answered, events[0].platform if events else "")
        redone: dict[int, list[Reply]] = {}
        if batch.later:
            redone.update(
                zip(
                    [id(e) for e in batch.later],
                    await self.handle_answers(batch.later),
                    strict=True,
                )
            )
        for event in batch.plain:
            redone[id(event)] = await self.handle_one(event)
        return [redone.get(id(e), r) for e, r in zip(events, batch.replies, strict=True)]

    def _announce(self, answered: list[Answered], platform: str) -> None:
        if self.on_answered:
            for item in answered:
                self.on_answered(item, platform)


__all__ = ["Answered", "Service"]
