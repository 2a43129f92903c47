"""The platforms alliance-bot speaks: each declares its name, the ids the alliance file gives it
(with the sentence that says how to write one) and the prefix its people type before a command.

A new platform is a folder under ``adapters/`` plus one entry in :func:`platforms`. The entries
import no platform library, so ``alliance-bot alliance validate`` checks Slack and Matrix ids
where their extras are not installed. Nothing here is global state: the commands call
:func:`platforms` and hand the result to the core (``validate_file(..., platforms=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.console import ids as console
from adapters.matrix import ids as matrix
from adapters.slack import ids as slack
from bot.alliance.schema import PlatformIds


@dataclass(frozen=True)
class Platform:
    ids: PlatformIds
    """Its name and how it checks the member accounts and channel addresses of the file."""
    command_prefix: str
    """What people type before a command where plain words are answers (``/digest``,
    ``!digest``); empty where a command word alone is a command (the console)."""

    @property
    def name(self) -> str:
        return self.ids.name


def platforms() -> tuple[Platform, ...]:
    """Every platform, whether or not its extra is installed."""
    return (
        Platform(
            PlatformIds(
                "console",
                member_default=console.member_default,
                channel_default=console.channel_default,
            ),
            command_prefix="",
        ),
        Platform(
            PlatformIds("slack", slack.member_account, slack.channel_address),
            command_prefix="/",
        ),
        Platform(
            PlatformIds("matrix", matrix.member_account, matrix.room_address),
            command_prefix="!",
        ),
    )


def id_checks(among: Sequence[Platform] | None = None) -> tuple[PlatformIds, ...]:
    """What ``bot.alliance.validate`` takes as ``platforms``."""
    return tuple(p.ids for p in (platforms() if among is None else among))
