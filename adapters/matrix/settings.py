"""Matrix's section of the settings: ``ALLIANCE_BOT_MATRIX__*`` (``[matrix]`` in a settings file).

Pure pydantic (no nio), so the settings load and print where the ``matrix`` extra is not
installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, SecretStr

from bot.domain.errors import UserError
from bot.settings import Settings

SECTION = "matrix"
"""``ALLIANCE_BOT_MATRIX__*``, ``[matrix]`` in a settings file."""


class MatrixSettings(BaseModel):
    homeserver: str | None = None
    user_id: str | None = None
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    device_id: str | None = None
    store_path: Path | None = None
    pickle_key: SecretStr | None = None
    messages_per_second: float = 0.0
    """The bot account's own rate, kept by all workers together; 0: none (the homeserver's
    “slow down” is honoured by every worker). Set it just under the homeserver's ``rc_message``
    for the account when many workers share it."""
    messages_burst: int = 5
    choices: Literal["polls", "reactions"] = "polls"
    """How a choice prompt is offered: ``polls``, a native poll (MSC3381), which Element Web,
    Desktop and X show (other clients show its text, which says to type the number or the name);
    ``reactions``, a message with the number reactions (1️⃣ 2️⃣ …) added, for one tap in any
    client that shows reactions."""

    @property
    def configured(self) -> bool:
        return self.homeserver is not None and self.user_id is not None

    def check(self) -> None:
        """Half configured is a mistake, not a reason to quietly run without Matrix."""
        if bool(self.homeserver) != bool(self.user_id):
            missing = "USER_ID (the bot's account, like @alliance-bot:example.org)"
            given = "HOMESERVER"
            if self.user_id:
                missing, given = "HOMESERVER (like https://matrix.example.org)", "USER_ID"
            raise UserError(
                f"Matrix is half configured: ALLIANCE_BOT_MATRIX__{given} is set but "
                f"ALLIANCE_BOT_MATRIX__{missing} is not; set it, or unset "
                f"ALLIANCE_BOT_MATRIX__{given} to run without Matrix."
            )


def of(settings: Settings) -> MatrixSettings:
    """The matrix section of the composition root's settings."""
    return settings.section(SECTION, MatrixSettings)
