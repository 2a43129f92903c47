"""A platform-neutral driver for behavioural tests: members receive prompts and answer them.

Tests talk to a ``Harness``; each adapter provides one (the console's is here). The same tests
then run over every adapter.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import ManualClock
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
    """What every adapter's harness offers the behavioural suite.

    Its class has ``name`` and an async classmethod
    ``create(request, tmp_path, database_url, start, alliance) -> Harness``; the alliance text
    gives every member a console, Slack and Matrix account (see ``with_accounts``).
    """

    name: str
    runtime: Runtime
    clock: ManualClock

    async def stop(self) -> None: ...

    async def run_until(self, moment: datetime, step: timedelta = ...) -> None: ...

    def inbox(self, member: str) -> list[Received]: ...

    async def reply(self, member: str, ref: str, text: str) -> list[str]: ...

    async def pick(self, member: str, ref: str, choice: str) -> list[str]: ...

    async def command(self, member: str, name: str, args: str = "") -> list[str]: ...

    async def dm(self, member: str, text: str) -> list[str]:
        """Plain text in the member's direct chat with the bot (no thread, no command)."""
        ...


ALLIANCE_TEMPLATE = textwrap.dedent("""\
    alliance: {name: Test Alliance, default_timezone: Europe/Berlin}
    organisations:
      - {slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: Europe/Berlin}
      - {slug: ny-ngo, name: NY Readers, kind: ngo, country: US, timezone: America/New_York}
      - {slug: syd-lib, name: Sydney Lib, kind: library, country: AU, timezone: Australia/Sydney}
      - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: Europe/Berlin}
    members:
      - {id: berta, name: Berta, organisation: berlin-lib, reporting: true, <<berta>>}
      - {id: nina, name: Nina, organisation: ny-ngo, reporting: true, <<nina>>}
      - {id: sam, name: Sam, organisation: syd-lib, reporting: true, <<sam>>}
      - {id: sid, name: Sid, organisation: syd-lib, <<sid>>}
      - {id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}
      - {id: ada, name: Ada, organisation: backbone, role: admin, <<ada>>}
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


def slack_id(member: str) -> str:
    """The Slack account (TEAM:USER) test alliances give a member."""
    return f"T0TEST:U0{member.upper()}"


def matrix_id(member: str) -> str:
    """The Matrix account test alliances give a member (a real Synapse runs as localhost)."""
    return f"@{member}:localhost"


def with_accounts(alliance: str) -> str:
    """Fill the <<name>> markers with each member's Slack and Matrix accounts."""
    return re.sub(
        r"<<([a-z0-9-]+)>>",
        lambda m: f'slack: "{slack_id(m.group(1))}", matrix: "{matrix_id(m.group(1))}"',
        alliance,
    )


ALLIANCE = with_accounts(ALLIANCE_TEMPLATE)
