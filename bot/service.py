"""Turning inbound events into check-ins and replies, each event in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chatter import mistyped_command, small_talk, talk_after_all
from bot.checkins import in_flight, latest_open
from bot.commands import CommandContext, run_command
from bot.digest.chartcache import ChartCache
from bot.digest.stars import on_reaction
from bot.directory import member_by_account
from bot.domain.answers import parse_answer
from bot.domain.errors import UserError
from bot.domain.prompts import PromptDef
from bot.domain.values import AnswerType
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
from bot.i18n import Text, _, translate
from bot.ingest import (
    FILE_WITHOUT_WORDS,
    Answered,
    AnswerItem,
    answer_many,
    answer_ref,
    item_for,
    unknown_sender,
)
from bot.ports import Clock, Reply, ReplyTo
from bot.replies import enqueue_replies
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.bulk import claim_once
from bot.storage.database import Database
from bot.storage.outage import StorageAway, is_outage
from bot.storage.prompts import load_prompts
from bot.storage.records import CheckIn, Delivery, ProcessedEvent

log = logging.getLogger(__name__)
SORRY = _(
    "Sorry, something went wrong on my side and your message was not saved. "
    "Please try again in a minute; the backbone team has been told."
)


class Service:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        planner: Planner,
        on_answered: Callable[[Answered], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.planner = planner
        self.on_answered = on_answered
        self.files_dirs: tuple[Path, ...] = ()
        self.how_to_type: dict[str, Text | str] = {}
        self.help_prefix: dict[str, str] = {}
        """A line atop the help, by platform (the composition root's, from the adapters)."""
        """Where ports keep the files they post on this machine (``mydata delete all``)."""
        self.charts: ChartCache | None = None
        """Digest charts already drawn, shared with the scheduled digests."""
        self._prompts: dict[str, PromptDef] = {}
        self._source: str | None = None
        """The alliance file's digest the cached prompts came from."""

    async def handle(
        self, event: InboundEvent, to: ReplyTo | None = None, *, patient: bool = False
    ) -> list[Reply] | None:
        """Decide what ``event`` means and store its effect with its replies (one transaction);
        the replies go out through the outbox. A replayed event id changes nothing. None: it
        may answer a prompt still being sent (``patient``); wait for that, then ask again."""
        to = to or ReplyTo.of(event)
        if answer_ref(event) is not None:
            return (await self.handle_answers([(event, to)], patient=patient))[0]
        return await self.handle_one(event, to, patient=patient)

    async def handle_one(
        self, event: InboundEvent, to: ReplyTo, *, patient: bool = False
    ) -> list[Reply] | None:
        """Anything but an answer to a prompt message: commands, direct messages, edits."""
        answered: list[Answered] = []
        after: list[Callable[[], Awaitable[None]]] = []
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
                replies = await self._decide(s, event, answered, patient, after)
                await enqueue_replies(s, to, replies, self.clock.now())
        except _InFlight:
            return None
        except UserError as exc:  # refused: said in the member's language (English if unknown)
            return await self._say(to, [Reply(exc.in_(await self._locale(event)))])
        except IntegrityError:
            log.info("event %s/%s was handled concurrently", event.platform, event.event_id)
            return []
        except Exception as exc:
            self._away(exc)
            log.exception("could not handle %s event %s", event.platform, event.event_id)
            return await self._say(to, [Reply(translate(SORRY, await self._locale(event)))])
        self._announce(answered)
        for step in after:  # once committed (SQLite's log emptied after an erasure)
            try:
                await step()
            except Exception:
                log.exception("a step after %s event %s failed", event.platform, event.event_id)
        return replies

    async def _locale(self, event: Event) -> str:
        """The sender's language, for a reply to an event whose transaction was rolled back."""
        try:
            async with self.db.session() as s:
                member = await self.member_for(s, event)
        except Exception:
            return "en"
        return member.locale if member is not None else "en"

    def _away(self, exc: Exception) -> None:
        """A database outage is no failure of the event: it is handled again once the database
        is back (``Runtime.handle`` waits), with no traceback per event."""
        if is_outage(exc):
            self.db.outage.noticed(exc)
            raise StorageAway(str(exc)) from exc

    async def _say(self, to: ReplyTo, replies: list[Reply]) -> list[Reply]:
        """Replies to an event that stored nothing (refused, or failed): on their own."""
        try:
            async with self.db.session() as s:
                await enqueue_replies(s, to, replies, self.clock.now())
        except Exception as exc:
            self._away(exc)
            log.exception("could not queue a reply to %s event %s", to.platform, to.event_id)
        return replies

    async def in_flight_settled(self, event: InboundEvent, patience: float) -> None:
        """Wait (up to ``patience`` seconds) until no prompt to the sender is being sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while loop.time() < deadline:
            async with self.db.session() as s:
                member = await self.member_for(s, event)
                if member is None or not await in_flight(s, member.id):
                    return
            await asyncio.sleep(0.05)
        log.warning(
            "a prompt to %s is still being sent; handling their answer anyway", event.sender
        )

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
        self,
        s: AsyncSession,
        event: InboundEvent,
        answered: list[Answered],
        patient: bool,
        after: list[Callable[[], Awaitable[None]]],
    ) -> list[Reply]:
        member = await self.member_for(s, event)
        if isinstance(event, Reacted | Retracted):
            await on_reaction(s, member, event)
            return []
        if member is None:
            if isinstance(event, MessageReceived) and not event.is_direct:
                return []
            raise UserError(unknown_sender(event))
        if isinstance(event, Undecryptable):
            return [
                Reply(
                    translate(
                        _(
                            "I could not read your last message (it arrived encrypted with a "
                            "key I don't have). Please send it again; nothing was saved."
                        ),
                        member.locale,
                    )
                )
            ]
        if isinstance(event, CommandReceived):
            event = talk_after_all(event) or event
        if isinstance(event, CommandReceived):

            async def answer(delivery: Delivery, text: str, source: str) -> list[Reply]:
                assert member is not None
                return await self.answer(s, member, delivery, text, source, event, answered)

            ctx = CommandContext(
                s,
                member,
                event,
                self.clock.now(),
                self.planner,
                answer,
                self.files_dirs,
                after,
                charts=self.charts,
                how_to_type=self.how_to_type.get(event.platform, ""),
                help_prefix=self.help_prefix.get(event.platform, ""),
            )
            return await run_command(ctx, event.name, event.args)
        if not isinstance(event, MessageReceived):  # answers to prompt messages go by batch
            raise AssertionError(f"{type(event).__name__} is handled by handle_answers")
        return await self._message(s, member, event, answered, patient)

    async def _message(
        self,
        s: AsyncSession,
        member: m.Member,
        event: MessageReceived,
        answered: list[Answered],
        patient: bool,
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
        if event.files and not event.text.strip():  # a photo alone: not an answer
            return [Reply(translate(FILE_WITHOUT_WORDS, member.locale))]
        typo = mistyped_command(event.text)
        if typo is not None:
            typo_text = _(
                "Did you mean “{word}”? I did not record that message. To answer the question "
                "waiting for you, send the answer on its own.",
                word=typo,
            )
            return [Reply(translate(typo_text, member.locale))]
        delivery = await latest_open(s, member, self.clock.now(), event.platform)
        if delivery is None and patient and await in_flight(s, member.id):
            raise _InFlight
        if small_talk(event.text) and not await self._a_choice(s, delivery, event.text, member):
            return []  # “thanks!”, “ok”, 👍: a courtesy, not an answer, and no reply to it
        if delivery is None:
            nothing_open = _(
                "I have no open question for you right now. Type help to see what I can do."
            )
            return [Reply(translate(nothing_open, member.locale))]
        return await self.answer(s, member, delivery, event.text, "direct", event, answered)

    async def _a_choice(
        self, s: AsyncSession, delivery: Delivery | None, text: str, member: m.Member
    ) -> bool:
        """Whether ``text`` is one of the waiting prompt's choices (a choice may be “OK”)."""
        if delivery is None or delivery.prompt_id is None:
            return False
        definition = await self.prompt(s, delivery.prompt_id)
        if definition.answer is AnswerType.TEXT:
            return False
        try:
            parse_answer(definition, text, member.locale)
        except UserError:
            return False
        return True

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

    async def handle_answers(
        self, events: list[tuple[InboundEvent, ReplyTo]], *, patient: bool = False
    ) -> list[list[Reply] | None]:
        """Answers to prompt messages, many in one transaction (see bot/ingest.py), each with
        its replies. None for an answer to a prompt that may still be being sent."""
        answered: list[Answered] = []
        to = {id(event): where for event, where in events}
        try:
            async with self.db.session() as s:
                await self._fresh_prompts(s)
                batch = await answer_many(
                    s,
                    [item_for(e) for e, _where in events],
                    self.clock.now(),
                    lambda pid: self.prompt(s, pid),
                    answered,
                    patient=patient,
                )
                elsewhere = {id(e) for e in (*batch.later, *batch.plain, *batch.waiting)}
                for (event, where), replies in zip(events, batch.replies, strict=True):
                    if id(event) not in elsewhere:
                        await enqueue_replies(s, where, replies, self.clock.now())
        except IntegrityError:
            if len(events) == 1:  # handled concurrently elsewhere
                return [[]]
            return [(await self.handle_answers([e], patient=patient))[0] for e in events]
        except Exception as exc:
            self._away(exc)
            log.exception("could not store a batch of %d answers", len(events))
            return [
                await self._say(where, [Reply(translate(SORRY, await self._locale(event)))])
                for event, where in events
            ]

        self._announce(answered)
        redone: dict[int, list[Reply] | None] = {id(e): None for e in batch.waiting}
        if batch.later:
            pairs = [(e, to[id(e)]) for e in batch.later]
            redone.update(
                zip(
                    [id(e) for e in batch.later],
                    await self.handle_answers(pairs, patient=patient),
                    strict=True,
                )
            )
        for event in batch.plain:
            redone[id(event)] = await self.handle_one(event, to[id(event)], patient=patient)
        return [redone.get(id(e), r) for (e, _), r in zip(events, batch.replies, strict=True)]

    def _announce(self, answered: list[Answered]) -> None:
        if self.on_answered:
            for item in answered:
                self.on_answered(item)


class _InFlight(Exception):
    """Nothing to answer yet, while a prompt to the member is being sent: roll back, wait."""


__all__ = ["Answered", "Service"]
