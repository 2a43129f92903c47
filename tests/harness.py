"""A platform-neutral driver for behavioural tests: members receive prompts and answer them.

Tests talk to a ``Harness``; each adapter provides one (the console's is here). The same tests
then run over every adapter.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from adapters.console.port import ConsolePort
from adapters.console.translate import parse_line
from bot.clock import ManualClock
from bot.delivery import RetryPolicy
from bot.events import InboundEvent
from bot.ports import ChatPort
from bot.runtime import Runtime


@dataclass(frozen=True)
class Received:
    """A message as a member saw it, whatever the platform."""

    ref: str
    text: str
    choices: tuple[str, ...]
    kind: str

    @property
    def is_prompt(self) -> bool:
        return self.kind == "prompt"


class Harness(Protocol):
    runtime: Runtime
    clock: ManualClock

    async def run_until(self, moment: datetime, step: timedelta = ...) -> None: ...

    def inbox(self, member: str) -> list[Received]: ...

    async def reply(self, member: str, ref: str, text: str) -> list[str]: ...

    async def pick(self, member: str, ref: str, choice: str) -> list[str]: ...

    async def command(self, member: str, name: str, args: str = "") -> list[str]: ...


ALLIANCE = textwrap.dedent("""\
    alliance: {name: Test Alliance, default_timezone: Europe/Berlin}
    organisations:
      - {slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: Europe/Berlin}
      - {slug: ny-ngo, name: NY Readers, kind: ngo, country: US, timezone: America/New_York}
      - {slug: syd-lib, name: Sydney Lib, kind: library, country: AU, timezone: Australia/Sydney}
      - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: Europe/Berlin}
    members:
      - {id: berta, name: Berta, organisation: berlin-lib, reporting: true}
      - {id: nina, name: Nina, organisation: ny-ngo, reporting: true}
      - {id: sam, name: Sam, organisation: syd-lib, reporting: true}
      - {id: sid, name: Sid, organisation: syd-lib}
      - {id: bo, name: Bo, organisation: backbone, role: backbone}
      - {id: ada, name: Ada, organisation: backbone, role: admin}
    measures:
      - {key: digital_skills_sessions, name: Digital-skills sessions, unit: sessions, target: 30}
    campaigns:
      - key: daily
        name: Daily reflection
        prompts: [name-a-barrier]
        audience: {organisations: [berlin-lib, ny-ngo, syd-lib]}
        schedule: "0 9 * * *"
        reminders: {after: 4h, max: 2}
        catch_up: 3h
      - key: figures
        name: Monthly figures
        measures: [digital_skills_sessions]
        audience: {reporting_only: true}
        schedule: "0 10 1 * *"
        paused: true
""")


class ConsoleHarness:
    """Drives the console adapter: its line translation in, its port's messages out."""

    def __init__(self, tmp_path: Path, url: str, start: datetime, alliance: str = ALLIANCE) -> None:
        self.tmp_path = tmp_path
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
            if m.to == member
        ]

    async def _send(self, member: str, line: str) -> list[str]:
        event = parse_line(line, member, self.clock.now())
        assert isinstance(event, InboundEvent)
        replies = await self.runtime.handle(event)
        return [r.text + ("\n" + r.quoted if r.quoted else "") for r in replies]

    async def reply(self, member: str, ref: str, text: str) -> list[str]:
        return await self._send(member, f"reply {ref} {text}")

    async def pick(self, member: str, ref: str, choice: str) -> list[str]:
        return await self._send(member, f"pick {ref} {choice}")

    async def command(self, member: str, name: str, args: str = "") -> list[str]:
        return await self._send(member, f"/{name} {args}".strip())
