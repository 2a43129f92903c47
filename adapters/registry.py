"""The platforms alliance-bot speaks, and how each is built.

Each entry declares:

- its name and the ids the alliance file gives it, with the sentence that says how to write one;
- the prefix its people type before a command;
- its section of the settings (``ALLIANCE_BOT_<SECTION>__*``) as a pydantic model, which says
  whether the platform is configured and checks that it is not half configured;
- its extra (``pip install 'alliance-bot[<extra>]'``) and the modules that extra provides;
- ``build``: its adapter from the settings, imported only when called, so ``--help`` and
  ``alliance validate`` load no platform library.

A new platform is a folder under ``adapters/`` plus one entry in :func:`platforms` (plus its
extra in ``pyproject.toml`` when it needs a library). Nothing here is global state: callers ask
:func:`platforms` and hand the result on (``validate_file(..., platforms=...)``,
``build_ports``, ``adapters/settings.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from adapters.console import ids as console
from adapters.console import settings as console_settings
from adapters.matrix import ids as matrix
from adapters.matrix import settings as matrix_settings
from adapters.slack import ids as slack
from adapters.slack import settings as slack_settings
from bot.alliance.schema import PlatformIds
from bot.i18n import Text

if TYPE_CHECKING:
    from adapters.base import Adapter
    from bot.ports import ChatPort, Clock
    from bot.settings import Settings


class SectionModel(Protocol):
    """What a platform's settings model offers besides its fields."""

    @property
    def configured(self) -> bool | None:
        """True: build it; False: leave it off; None (a fallback): build it when no other
        platform is."""

    def check(self) -> None:
        """Raise a UserError, one sentence, when the platform is half configured."""


C = TypeVar("C", bound=SectionModel, covariant=True)


@dataclass(frozen=True)
class Section(Generic[C]):
    """A platform's section of the settings: ``ALLIANCE_BOT_<NAME>__*``, ``[name]`` in a file."""

    name: str
    model: type[C]

    def of(self, settings: Settings) -> C:
        return settings.section(self.name, self.model)


@dataclass(frozen=True)
class Extra:
    """The optional dependency a platform needs: ``pip install 'alliance-bot[<name>]'``."""

    name: str
    modules: tuple[str, ...]
    """The top-level modules it installs: one of them missing means the extra is."""


@dataclass(frozen=True)
class Built:
    """What ``build`` returns: the port the core sends through, and the adapter to start
    (None for the console, whose loop the composition root runs itself)."""

    port: ChatPort
    adapter: Adapter | None = None


Echo = Callable[[str], None]
Build = Callable[["Settings", "Clock", Echo], Built]
"""``build(settings, clock, echo)``; ``echo`` prints a line on the terminal."""


@dataclass(frozen=True)
class Platform:
    ids: PlatformIds
    """Its name and how it checks the member accounts and channel addresses of the file."""
    command_prefix: str
    """What people type before a command where plain words are answers (``/digest``,
    ``!digest``); empty where a command word alone is a command (the console)."""
    settings: Section[SectionModel]
    """Its section of the settings, which says whether it is configured and checks it."""
    build: Build
    """Its port and adapter; imports the platform's modules when called, not before."""
    extra: Extra | None = None
    """None: it needs no library beyond the core's."""
    fallback: bool = False
    """Built after the others, and when no other platform is configured unless its settings
    turn it off (the console)."""
    how_to_type: Text | str = ""
    """A line atop the help on this platform: how its people type a command (translated
    for each reader)."""
    help_prefix: str = ""
    """Written before each command word the help lists, where a word alone is not always a
    command (Matrix rooms: ``!checkin``)."""

    @property
    def name(self) -> str:
        return self.ids.name

    def configured(self, settings: Settings) -> bool | None:
        return self.settings.of(settings).configured

    def check(self, settings: Settings) -> None:
        self.settings.of(settings).check()


def _console(settings: Settings, clock: Clock, echo: Echo) -> Built:
    from adapters.console.port import ConsolePort

    return Built(ConsolePort(clock, echo=echo, files_dir=settings.data_dir / "files"))


def _slack(settings: Settings, clock: Clock, echo: Echo) -> Built:
    from adapters.slack.adapter import SlackAdapter

    adapter = SlackAdapter.from_settings(settings, clock)
    return Built(adapter.port, adapter)


def _matrix(settings: Settings, clock: Clock, echo: Echo) -> Built:
    from adapters.matrix.adapter import MatrixAdapter

    adapter = MatrixAdapter.from_settings(settings, clock)
    return Built(adapter.port, adapter)


def platforms() -> tuple[Platform, ...]:
    """Every platform, whether or not its extra is installed."""
    return (
        Platform(
            PlatformIds(
                "console",
                member_default=console.member_default,
                channel_default=console.channel_default,
            ),
            command_prefix=console.COMMAND_PREFIX,
            settings=Section(console_settings.SECTION, console_settings.ConsoleSettings),
            build=_console,
            fallback=True,
        ),
        Platform(
            PlatformIds("slack", slack.member_account, slack.channel_address),
            command_prefix=slack.COMMAND_PREFIX,
            settings=Section(slack_settings.SECTION, slack_settings.SlackSettings),
            build=_slack,
            how_to_type=slack.HOW_TO_TYPE,
            extra=Extra("slack", ("slack_bolt", "slack_sdk", "aiohttp", "cryptography")),
        ),
        Platform(
            PlatformIds("matrix", matrix.member_account, matrix.room_address),
            command_prefix=matrix.COMMAND_PREFIX,
            settings=Section(matrix_settings.SECTION, matrix_settings.MatrixSettings),
            build=_matrix,
            how_to_type=matrix.HOW_TO_TYPE,
            help_prefix=matrix.COMMAND_PREFIX,
            extra=Extra("matrix", ("nio",)),
        ),
    )


def in_build_order(among: Sequence[Platform]) -> list[Platform]:
    """The platforms a fallback (the console) comes last among: the order they are built in,
    which is also the core's order of preference for a member on several."""
    return sorted(among, key=lambda platform: platform.fallback)


def id_checks(among: Sequence[Platform] | None = None) -> tuple[PlatformIds, ...]:
    """What ``bot.alliance.validate`` takes as ``platforms``."""
    return tuple(p.ids for p in (platforms() if among is None else among))


def how_to_type(among: Sequence[Platform] | None = None) -> dict[str, Text | str]:
    """What the core puts atop the help, by platform (``Service.how_to_type``)."""
    return {p.name: p.how_to_type for p in (platforms() if among is None else among)}


def help_prefixes(among: Sequence[Platform] | None = None) -> dict[str, str]:
    """What the help writes before each command word, by platform (``Service.help_prefix``)."""
    return {p.name: p.help_prefix for p in (platforms() if among is None else among)}
