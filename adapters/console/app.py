"""The console adapter's loop: lines in (a terminal or a pipe), prompts and replies out."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, timedelta

from babel import Locale
from babel.dates import format_datetime

from adapters.console.port import ConsolePort
from adapters.console.translate import Directive, parse_line
from adapters.i18n import _
from bot.clock import ManualClock
from bot.edge import Harness
from bot.events import ChoicePicked, MessageReceived
from bot.i18n import Text, translate, written
from bot.storage.outage import is_outage
from bot.text import quote

log = logging.getLogger(__name__)
PLATFORM = "console"
LONGEST_REAL_WAIT = 300.0
"""At normal speed, ``wait`` sleeps for real up to five minutes (the first prompt of the demo
is a minute away); a longer wait says how to move the clock instead."""


async def stdin_lines() -> AsyncIterator[str]:
    """Lines from standard input without blocking the loop, for terminals, pipes and files."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="console-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


class ConsoleApp:
    def __init__(
        self,
        runtime: Harness,
        port: ConsolePort,
        out: Callable[[str], None],
        me: str = "",
        speed: float = 1.0,
    ) -> None:
        self.runtime = runtime
        self.speed = speed
        self.port = port
        self.out = out
        self.me = me
        self.locale = "en"
        """The language of the member the console speaks as (``as`` changes it)."""

    @property
    def where(self) -> Locale:
        return written(self.locale)

    def say(self, text: Text | str) -> None:
        """A line of the console's own, in the language of the member it speaks as."""
        self.out(translate(text, self.locale))

    async def greet(self) -> None:
        if not self.me:
            self.me = await self.runtime.directory.first_admin(PLATFORM) or ""
        who = await self.runtime.directory.display_name(PLATFORM, self.me) if self.me else None
        if self.me:
            self.locale = await self.runtime.directory.locale(PLATFORM, self.me)
        self.say(
            _(
                "You are {me} — {who}. Type help for commands; “as <name>” switches member; "
                "“reply <ref> <answer>” answers a prompt.",
                me=self.me,
                who=who or _("not a member"),
            )
        )

    async def run(self, lines: AsyncIterator[str]) -> None:
        """Handle every line; at the end of input, finish the work that is due, then return."""
        await self.greet()
        async for line in lines:
            if not await self.handle_line(line):
                break
        await self.runtime.settle()

    async def handle_line(self, line: str) -> bool:
        """One line; False to stop. No line ends the bot: a failure becomes a sentence."""
        try:
            return await self._line(line)
        except Exception as exc:
            if is_outage(exc):
                self.runtime.outage_noticed(exc)
                self.say(_("! The database cannot be reached right now; try again in a moment."))
            else:
                log.error("a console line failed: %s: %s", type(exc).__name__, exc)
                self.say(_("! Sorry, that did not work, and nothing was changed. Type help."))
            return True

    async def _line(self, line: str) -> bool:
        try:
            parsed = parse_line(line, self.me, self.runtime.clock.now())
        except ValueError as exc:
            self.out(f"! {exc}")
            return True
        if parsed is None:
            return True
        if isinstance(parsed, Directive):
            return await self._directive(parsed)
        ref = parsed.thread if isinstance(parsed, MessageReceived) else None
        ref = parsed.message_ref if isinstance(parsed, ChoicePicked) else ref
        if ref and not await self._known(ref):
            self.say(
                _(
                    "! There is no prompt “{ref}”: reply and pick take the reference shown with "
                    "a prompt (like p3). Nothing was stored.",
                    ref=quote(ref),
                )
            )
            return True
        await self.runtime.handle(parsed)
        await self.runtime.replies_sent(parsed)  # printed by the port, under the line
        return True

    async def _directive(self, directive: Directive) -> bool:
        if directive.name in ("quit", "exit"):
            return False
        if directive.name == "as":
            await self._become(directive.argument)
        elif directive.name == "whoami":
            self.say(_("You are {me}.", me=self.me))
        elif directive.name == "time":
            now = format_datetime(
                self.runtime.clock.now(), "EEE dd MMM y HH:mm", tzinfo=UTC, locale=self.where
            )
            self.say(_("It is {now} UTC.", now=now))
        elif directive.name == "settle":
            await self.runtime.settle()
        elif directive.name == "advance":
            clock = self.runtime.clock
            if not isinstance(clock, ManualClock) or self.speed != 1.0:
                self.say(_("! advance needs the manual clock (demo --manual-clock); use wait."))
            else:
                await self.runtime.advance(clock.now() + timedelta(seconds=directive.seconds))
        elif directive.name == "wait":
            if self.speed == 1.0 and directive.seconds > LONGEST_REAL_WAIT:
                self.say(
                    _(
                        "! At normal speed, wait {time} would sleep that long for real, so "
                        "nothing waited. To move time faster run demo --speed 3600 (an hour a "
                        "second), or demo --manual-clock and type advance {time}.",
                        time=directive.argument,
                    )
                )
                return True
            if self.speed != 1.0:  # a fast clock: wait until it has moved that far
                target = self.runtime.clock.now() + timedelta(seconds=directive.seconds)
                while self.runtime.clock.now() < target:  # noqa: ASYNC110 (another task moves it)
                    await asyncio.sleep(0.05)
            else:
                await asyncio.sleep(directive.seconds)
            await self.runtime.settle()
        return True

    async def _known(self, ref: str) -> bool:
        """Whether ``ref`` names a prompt; while the database is away the answer goes on to
        the core, which waits for it (an answer typed during an outage is never dropped)."""
        try:
            return await self.runtime.directory.is_prompt(PLATFORM, ref)
        except Exception as exc:
            if is_outage(exc):
                return True
            raise

    async def _become(self, name: str) -> None:
        """``as``: a console account, or an unambiguous part of a member's account or name."""
        directory = self.runtime.directory
        who = await directory.display_name(PLATFORM, name)
        if who is None:
            found = await directory.accounts_like(PLATFORM, name)
            exact = [f for f in found if name.casefold() in (f[0].casefold(), f[1].casefold())]
            found = exact or found
            if len(found) == 1:
                name = found[0][0]
                who = await directory.display_name(PLATFORM, name)
            elif found:
                names = ", ".join(account for account, _ in found[:10])
                if len(found) > 10:
                    names = translate(
                        _("{names} and {count} more", names=names, count=len(found) - 10),
                        self.locale,
                    )
                self.say(
                    _(
                        "! “{name}” could be {names}; type more of the name.",
                        name=quote(name),
                        names=names,
                    )
                )
                return
        if who is None:
            self.say(
                _(
                    "! There is no member “{name}” on the console; alliance-bot alliance show "
                    "lists them.",
                    name=quote(name),
                )
            )
            return
        self.me = name
        self.locale = await directory.locale(PLATFORM, name)
        self.say(_("You are now {me} — {who}.", me=self.me, who=who))
