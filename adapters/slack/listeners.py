"""Bolt listeners: acknowledge at once, then translate, hand to the core and post its replies.

Every listener calls ``ack()`` before any slow work and leaves that work to a background task
(kept by a strong reference and awaited when the adapter stops), so a slow database never makes
Slack show “operation timed out”. The one exception is the answer modal: its answer is checked
before the ack, because Slack shows inline errors only in the ack; that check has a time limit.
A member's message (the Events API, where nobody sees a time-out) is answered 200 only once its
effect is stored, so a crash cannot lose a message Slack was told we have (see ``_stored``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.response import BoltResponse

from adapters.slack import translate as tr
from adapters.slack.blocks import answer_modal, question_of
from adapters.slack.home import (
    HOME_ANSWER,
    HOME_MODAL,
    HOME_SKIP,
    home_view,
    pressed_answer,
    pressed_skip,
)
from adapters.slack.port import SlackPort
from adapters.slack.respond import seal
from bot.edge import Core
from bot.events import InboundEvent, MessageReceived
from bot.ports import PlatformError, Rejected, ReplyTo

log = logging.getLogger(__name__)
Spawn = Callable[[Coroutine[Any, Any, None], str], None]
Body = dict[str, Any]
CHOICE_ACTIONS = re.compile(rf"^{tr.ACTION_CHOICE}_(\d+|select)$")
STORE_WITHIN = 2.5
"""Seconds a message event waits to be stored before Slack hears 503 (Slack waits 3 s)."""
NAMES_LOOKED_UP = 20
"""Mentions in one message whose names are looked up (the rest stay ``@U…``)."""


@dataclass(frozen=True)
class Where:
    """Where the answer to an event goes: the DM or thread it came from, or privately."""

    team: str
    user: str
    channel: str
    thread_ts: str | None = None
    answer_by: str | None = field(default=None, repr=False)
    """A slash command's sealed response_url (``respond.seal``): a secret, never logged."""

    @property
    def direct(self) -> bool:
        return self.channel.startswith("D")

    def reply_to(self, event: InboundEvent) -> ReplyTo:
        return ReplyTo(
            platform=tr.PLATFORM,
            event_id=event.event_id,
            sender=tr.account(self.team, self.user),
            channel=self.channel,
            is_direct=self.direct,
            thread=self.thread_ts,
            about=getattr(event, "message_ref", None),
            answer_by=self.answer_by,
        )

    @classmethod
    def of_ref(cls, team: str, user: str, ref: str, root: str | None = None) -> Where:
        """Answering the message ``ref``: in its thread (``root`` when it is itself a reply)."""
        channel, ts = tr.split_ref(ref)
        return cls(team, user, channel, root or ts)


class Listeners:
    def __init__(
        self,
        port: SlackPort,
        runtime: Core,
        spawn: Spawn,
        *,
        check_timeout: float = 2.0,
    ) -> None:
        self.port = port
        self.runtime = runtime
        self.spawn = spawn
        self.check_timeout = check_timeout
        self._inflight: dict[str, asyncio.Future[bool]] = {}
        """Events being handled, by id: done (True: stored) when the core has handled them."""

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home)
        app.event("reaction_added")(self.on_reaction)
        app.event("reaction_removed")(self.on_reaction)
        app.action(tr.COMMAND_ACTIONS)(self.on_command_button)
        app.action(CHOICE_ACTIONS)(self.on_choice)
        app.action(tr.ACTION_ANSWER)(self.on_answer_button)
        app.action(tr.ACTION_SKIP)(self.on_skip)
        app.view(tr.MODAL_CALLBACK)(self.on_view)
        app.view(HOME_MODAL)(self.on_view)
        app.action(HOME_ANSWER)(self.on_home_answer)
        app.action(HOME_SKIP)(self.on_home_skip)
        for command in tr.COMMANDS:
            app.command(command)(self.on_command)

    def now(self) -> datetime:
        return self.runtime.clock.now()

    # --- listeners (bolt passes arguments by name: ack, body) ------------------------------

    async def on_message(self, ack: AsyncAck, body: Body) -> BoltResponse | None:
        await ack()
        event = tr.message_event(body, self.now())
        if event is None:
            return None
        team, user = tr.split_account(event.sender)
        thread = event.thread if isinstance(event, MessageReceived) else None
        root = tr.split_ref(thread)[1] if thread else None
        where = Where(team, user, event.channel, root)
        return await self._stored(self._later(event, where, "message", body))

    async def on_choice(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        event = tr.choice_event(body, self.now())
        if event is not None:
            team, user = tr.split_account(event.sender)
            where = Where.of_ref(team, user, event.message_ref, tr.thread_root(body))
            self._later(event, where, "choice")

    async def on_skip(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        event = tr.skip_event(body, self.now())
        if event is not None and event.thread is not None:
            team, user = tr.split_account(event.sender)
            self._later(event, Where.of_ref(team, user, event.thread, tr.thread_root(body)), "skip")

    async def on_command(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        event = tr.command_event(body, self.now())
        if event is not None:
            team, user = tr.split_account(event.sender)
            url = body.get("response_url")
            answer_by = seal(url, time.time()) if isinstance(url, str) and url else None
            self._later(event, Where(team, user, event.channel, answer_by=answer_by), "command")

    async def on_reaction(self, ack: AsyncAck, body: Body) -> None:
        """A ⭐ on an answer: staff star it for the digest. Reactions get no reply."""
        await ack()
        event = tr.reaction_event(body, self.now())
        if event is not None:
            self.spawn(self._quiet_handle(event), "reaction")

    async def on_command_button(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        event = tr.command_button(body, self.now())
        if event is not None:
            team, user = tr.split_account(event.sender)
            self._later(event, Where(team, user, event.channel, tr.thread_root(body)), "button")

    async def on_answer_button(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        where, trigger = tr.clicked_message(body), body.get("trigger_id")
        if where is None or not isinstance(trigger, str):
            return
        actions = body.get("actions") or [{}]
        kind, _, locale = str(actions[0].get("value") or "text").partition(" ")
        question = question_of(body.get("message"))
        ref, root = tr.message_ref(*where), tr.thread_root(body)
        view = answer_modal(ref, question, kind, root, locale or "en")
        team = tr.team_of(body) if self.port.workspaces.many else None
        self.spawn(self._quietly(self.port.open_view(trigger, view, team)), "open-modal")

    async def on_view(self, ack: AsyncAck, body: Body) -> None:
        found = tr.submitted_answer(body)
        if found is None:
            await ack()
            return
        ref, text, root = found
        error = await self._check(ref, text)
        if error:
            await ack(response_action="errors", errors={tr.ANSWER_BLOCK: error[:1000]})
            return
        await ack()
        event = tr.form_event(body, self.now())
        if event is not None:
            team, user = tr.split_account(event.sender)
            done = self._later(event, Where.of_ref(team, user, ref, root), "form")
            if (body.get("view") or {}).get("callback_id") == HOME_MODAL:
                self.spawn(self._publish_home(event.sender, done), "app-home")

    async def on_home(self, ack: AsyncAck, body: Body) -> None:
        await ack()
        who = tr.home_opened(body)
        if who is not None:
            self.spawn(self._publish_home(who), "app-home")

    async def on_home_answer(self, ack: AsyncAck, body: Body) -> None:
        """Answer on the App Home: the prompt's own answer form, for the message it names."""
        await ack()
        found, trigger = pressed_answer(body), body.get("trigger_id")
        if found is None or not isinstance(trigger, str):
            return
        ref, kind, locale, question = found
        view = {**answer_modal(ref, question, kind, None, locale), "callback_id": HOME_MODAL}
        team = tr.team_of(body) if self.port.workspaces.many else None
        self.spawn(self._quietly(self.port.open_view(trigger, view, team)), "open-modal")

    async def on_home_skip(self, ack: AsyncAck, body: Body) -> None:
        """Skip on the App Home: ``skip`` on the prompt it names; then the Home again."""
        await ack()
        event = pressed_skip(body, self.now())
        if event is not None and event.thread is not None:
            team, user = tr.split_account(event.sender)
            done = self._later(event, Where.of_ref(team, user, event.thread), "skip")
            self.spawn(self._publish_home(event.sender, done), "app-home")

    # --- the work after the ack -------------------------------------------------------------

    async def _check(self, ref: str, text: str) -> str | None:
        """The core's reason to refuse ``text``; if it cannot tell in time, the core decides
        later and says so in the DM (the modal must be answered within 3 s)."""
        try:
            return await asyncio.wait_for(
                self.runtime.directory.check_answer(tr.PLATFORM, ref, text), self.check_timeout
            )
        except TimeoutError:
            log.warning(
                "checking a modal answer took over %.1f s; the core will", self.check_timeout
            )
        except Exception:
            log.exception("could not check a modal answer; the core will")
        return None

    def _later(
        self, event: InboundEvent, where: Where, name: str, message: Body | None = None
    ) -> asyncio.Future[bool]:
        """Hand ``event`` to the core once at a time: a Slack retry arriving while the first
        copy is still being handled gets the first copy's future (the core's stored key covers
        the rest; it does not expect one event id twice in the same batch of answers). The core
        stores the replies with the event's effect; the outbox posts them where ``where`` says.
        ``message``: the Events API body of a member's message, whose mentions are named first
        and whose attached files the member hears are not kept."""
        known = self._inflight.get(event.event_id)
        if known is not None:
            return known
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inflight[event.event_id] = done
        self.spawn(self._handle(event, where, done, message), name)
        return done

    async def _handle(
        self,
        event: InboundEvent,
        where: Where,
        done: asyncio.Future[bool],
        message: Body | None = None,
    ) -> None:
        stored = False
        try:
            if message is not None:
                event = await self._named(event, message)
            await self.runtime.handle(event, where.reply_to(event))
            stored = True
        finally:
            del self._inflight[event.event_id]
            done.set_result(stored)

    async def _named(self, event: InboundEvent, message: Body) -> InboundEvent:
        """``event`` again with the people it mentions by name, where the alliance knows them
        (a stranger stays ``@U…``; a lookup that fails leaves that mention as it is)."""
        users = tr.mentions(message)[:NAMES_LOOKED_UP]
        if not users:
            return event
        team = tr.split_account(event.sender)[0]
        names: dict[str, str] = {}
        for user in users:
            try:
                found = await self.runtime.directory.display_name(
                    tr.PLATFORM, tr.account(team, user)
                )
            except Exception:
                log.exception("could not look up the name of a mentioned Slack user")
                continue
            if found:
                names[user] = plain_name(found)
        return tr.message_event(message, event.at, names) or event

    @staticmethod
    async def _stored(done: asyncio.Future[bool]) -> BoltResponse | None:
        """None (bolt answers 200) once the event's effect is stored. If that fails, or takes
        longer than Slack waits (an answer waiting for its prompt to be sent), a 503: Slack
        delivers the event again later, and the stored event id makes a second copy a no-op."""
        try:
            if await asyncio.wait_for(asyncio.shield(done), STORE_WITHIN):
                return None
        except TimeoutError:
            log.info(
                "an event is taking over %.1f s to store; Slack will send it again", STORE_WITHIN
            )
        return BoltResponse(status=503, body="")

    async def _quiet_handle(self, event: InboundEvent) -> None:
        await self.runtime.handle(event)

    async def _publish_home(self, who: str, after: asyncio.Future[bool] | None = None) -> None:
        """Draw ``who``'s App Home (``after``: once that event is handled, to show its effect)."""
        if after is not None:
            await asyncio.shield(after)
        home = await self.runtime.directory.home(tr.PLATFORM, who)
        team, user = tr.split_account(who)
        where = team if self.port.workspaces.many else None
        await self._quietly(self.port.publish_home(user, home_view(home), where))

    @staticmethod
    async def _quietly(call: Awaitable[object]) -> None:
        try:
            await call
        except (PlatformError, Rejected) as exc:
            log.warning("Slack refused a call: %s", exc)


def plain_name(display: str) -> str:
    """A member's name as the directory gives it, without the role it adds (“Ana (admin)”)."""
    name, sep, _ = display.rpartition(" (")
    return name if sep and name and display.endswith(")") else display
