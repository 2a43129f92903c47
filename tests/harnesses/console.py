"""The console adapter's harness: its line translation in, its port's messages out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.port import ConsolePort
from adapters.console.translate import parse_line
from bot.clock import ManualClock
from bot.delivery import RetryPolicy
from bot.events import InboundEvent
from bot.ports import ChatPort
from bot.runtime import Runtime
from bot.webhooks.courier import Poster
from tests.harness import ALLIANCE, Received


class ConsoleHarness:
    """Drives the console adapter: its line translation in, its port's messages out."""

    name = "console"

    def __init__(
        self,
        tmp_path: Path,
        url: str,
        start: datetime,
        alliance: str = ALLIANCE,
        webhooks: Poster | None = None,
    ) -> None:
        self.tmp_path = tmp_path
        self.webhooks = webhooks
        self.url = url
        self.clock = ManualClock(start)
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.file = tmp_path / "alliance.yaml"
        self.file.write_text(alliance, encoding="utf-8")
        self.port = ConsolePort(self.clock, files_dir=tmp_path / "files")
        self.runtime = self.new_runtime()

    def new_runtime(self, port: ChatPort | None = None) -> Runtime:
        """A runtime on the same database and clock (a restart)."""
        self.runtime = Runtime(
            self.url,
            self.clock,
            {"console": port or self.port},
            alliance_file=self.file,
            real_time=False,
            retry=RetryPolicy(max_attempts=4, base_seconds=60),
            webhooks=self.webhooks,
        )
        return self.runtime

    async def run_until(self, moment: datetime, step: timedelta = timedelta(hours=1)) -> None:
        """Let time pass in steps, as a running bot would see it."""
        while self.clock.now() + step <= moment:
            await self.runtime.advance(self.clock.now() + step)
        await self.runtime.advance(moment)

    def inbox(self, member: str) -> list[Received]:
        return [
            Received(m.ref, m.text, tuple(c.label for c in m.choices), m.kind)
            for m in self.port.messages
            if m.to == member and m.kind != "reply"
        ]

    @classmethod
    async def create(
        cls,
        request: pytest.FixtureRequest,
        tmp_path: Path,
        url: str,
        start: datetime,
        alliance: str = ALLIANCE,
    ) -> ConsoleHarness:
        """What the ``harness`` fixture calls; other adapters fetch their servers here."""
        return cls(tmp_path, url, start, alliance)

    @classmethod
    @contextlib.asynccontextmanager
    async def started(
        cls, tmp_path: Path, url: str, start: datetime, alliance: str = ALLIANCE
    ) -> AsyncIterator[ConsoleHarness]:
        """A harness whose runtime runs for the ``async with`` block."""
        harness = cls(tmp_path, url, start, alliance)
        await harness.runtime.start()
        try:
            yield harness
        finally:
            await harness.runtime.stop()

    async def stop(self) -> None:
        """Release what the harness holds beyond the runtime (nothing, for the console)."""

    async def _send(self, member: str, line: str) -> list[str]:
        event = parse_line(line, member, self.clock.now())
        assert isinstance(event, InboundEvent)
        await self.runtime.handle(event)
        assert await self.runtime.replies_sent(event), "the replies were not sent"
        return [
            r.text
            + ("\n" + r.quoted if r.quoted else "")
            + "".join(f"\n({a.label}: {a.command})" for a in r.actions)
            for r in self.port.messages
            if r.answering == event.event_id
        ]

    async def say(self, member: str, text: str) -> list[str]:
        """Plain text in the member's direct chat with the bot."""
        return await self._send(member, text)

    async def dm(self, member: str, text: str) -> list[str]:
        return await self.say(member, text)

    async def reply(self, member: str, ref: str, text: str) -> list[str]:
        return await self._send(member, f"reply {ref} {text}")

    async def pick(self, member: str, ref: str, choice: str) -> list[str]:
        return await self._send(member, f"pick {ref} {choice}")

    async def command(self, member: str, name: str, args: str = "") -> list[str]:
        return await self._send(member, f"/{name} {args}".strip())


HARNESS = ConsoleHarness
