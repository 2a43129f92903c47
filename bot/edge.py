"""What the core offers the platform edge: the only part of it an adapter holds.

An adapter hands the core what arrives (``handle``), reads the time, and asks named questions
of the directory; it never reaches the database, the scheduler or the models. ``Runtime``
provides all of it (structurally: it does not name these classes), and tests may hand an
adapter anything else that does.

    class Adapter(Protocol):
        async def start(self, core: Core) -> None: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from bot.events import InboundEvent
    from bot.home import HomeView
    from bot.metrics import Metrics
    from bot.ports import ChatPort, Clock, Reply, ReplyTo, SharedPace
    from bot.reach import Installations
    from bot.storage.locks import Lease


class Lookups(Protocol):
    """The directory's named queries. ``platform`` is the adapter's own name; ``external_id``
    an account on it, as the alliance file writes it."""

    async def display_name(self, platform: str, external_id: str) -> str | None:
        """Whose account this is (“Ana (admin)”), or None for a stranger."""
        ...

    async def first_admin(self, platform: str) -> str | None: ...

    async def locale(self, platform: str, external_id: str) -> str:
        """The language the account's member reads (English for a stranger)."""
        ...

    async def has_accounts_starting(self, platform: str, prefix: str) -> bool:
        """True when some member's account on ``platform`` starts with ``prefix``."""
        ...

    async def is_prompt(self, platform: str, message_ref: str) -> bool:
        """Whether ``message_ref`` names a prompt (or a reminder of one) on ``platform``."""
        ...

    async def accounts_like(self, platform: str, text: str) -> list[tuple[str, str]]:
        """(account, name) of active members whose account or name holds ``text``."""
        ...

    async def check_answer(self, platform: str, message_ref: str, text: str) -> str | None:
        """Why ``text`` would be refused as the answer to that prompt, or None."""
        ...

    async def home(self, platform: str, external_id: str) -> HomeView | None:
        """The member's own page (waiting questions, recent answers) in their language; None
        for an account the alliance does not know."""
        ...

    async def staff_channels(self, platform: str) -> list[str]:
        """The addresses on ``platform`` of the alliance's active staff channels, as the
        alliance file writes them."""
        ...

    async def get_state(self, platform: str, name: str) -> str | None:
        """Small state an adapter keeps in the bot's database (a sync position, a salt)."""
        ...

    async def set_state(self, platform: str, name: str, value: str) -> None: ...


class Core(Protocol):
    """What every adapter uses of the core."""

    @property
    def clock(self) -> Clock: ...

    @property
    def directory(self) -> Lookups: ...

    @property
    def shared_pace(self) -> SharedPace | None:
        """Platform limits shared by every worker on the database (None: one process)."""
        ...

    async def handle(self, event: InboundEvent, to: ReplyTo | None = None) -> list[Reply]:
        """Store what ``event`` means; its replies leave through the outbox (``to`` says where
        when the adapter knows better than the event)."""
        ...

    def installations(self) -> Installations:
        """Where the bot is installed, space by space (a platform installed per workspace)."""
        ...

    def lease(self, name: str) -> Lease:
        """The lease ``name``: one worker at a time holds it (the metrics say which)."""
        ...


class Harness(Core, Protocol):
    """The console besides: it drives the bot by hand, and moves a manual clock."""

    async def settle(self) -> None:
        """Handle everything due by the clock's now: runs, reminders and sends."""
        ...

    async def advance(self, to: datetime) -> None: ...

    async def replies_sent(
        self, event: InboundEvent | None = None, within: float = 30.0
    ) -> bool: ...

    def outage_noticed(self, exc: BaseException) -> None:
        """``exc`` says the database is away: the core says so once and waits for it."""
        ...


class Observed(Protocol):
    """What the health and metrics endpoints read (``adapters/health.py``)."""

    @property
    def started(self) -> bool: ...

    @property
    def ports(self) -> Mapping[str, ChatPort]: ...

    @property
    def metrics(self) -> Metrics: ...

    async def database_answers(self) -> None:
        """``SELECT 1``; raises when the database does not answer."""
        ...

    async def refresh_metrics(self) -> None:
        """Read the database's gauges now (or a moment ago)."""
        ...
