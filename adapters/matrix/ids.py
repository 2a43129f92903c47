"""What the alliance file writes for Matrix: a member's full user id and a room id or alias;
and what people type before a command there (``COMMAND_PREFIX``).

Any homeserver: ``@ana:partner.example`` and ``@bo:matrix.other.org:8448`` are accounts like
``@anna:example.org``. Pure (no nio), so ``alliance-bot alliance validate`` checks Matrix ids
without the ``matrix`` extra installed.
"""

from __future__ import annotations

import re

from adapters.i18n import _

COMMAND_PREFIX = "!"
"""``!digest``: in Matrix rooms plain words are answers."""
HOW_TO_TYPE = _(
    "On Matrix, start a command with ! (!checkin, !mydata, !digest); in our direct chat the "
    "word alone works too."
)
USER = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
ROOM = re.compile(r"^[!#][^\s:]+(:[A-Za-z0-9.\-]+(:\d+)?)?$")


def member_account(value: str) -> str:
    if not USER.match(value):
        raise ValueError(f"matrix “{value}” should be a full user id, like @anna:example.org.")
    return value


def room_address(value: str) -> str:
    if not ROOM.match(value):
        raise ValueError(
            f"matrix “{value}” should be a room id like !abc123:example.org "
            "or an alias like #staff:example.org."
        )
    return value
