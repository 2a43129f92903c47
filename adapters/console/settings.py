"""The console's section of the settings: ``ALLIANCE_BOT_CONSOLE__*`` (``[console]`` in a file)."""

from __future__ import annotations

from pydantic import BaseModel

from bot.settings import Settings

SECTION = "console"
"""``ALLIANCE_BOT_CONSOLE__*``, ``[console]`` in a settings file."""


class ConsoleSettings(BaseModel):
    enabled: bool | None = None
    """None: on when no other platform is configured."""

    @property
    def configured(self) -> bool | None:
        """True: on; False: off; None: on when no other platform is configured."""
        return self.enabled

    def check(self) -> None:
        """Nothing can be half configured here."""


def of(settings: Settings) -> ConsoleSettings:
    """The console section of the composition root's settings."""
    return settings.section(SECTION, ConsoleSettings)
