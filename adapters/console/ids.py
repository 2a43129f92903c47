"""What the alliance file writes for the console: any name (a member's id when none is given).
A command word alone is a command there (``COMMAND_PREFIX`` is empty)."""

from __future__ import annotations

COMMAND_PREFIX = ""


def member_default(member_id: str) -> str:
    return member_id


def channel_default(key: str) -> str:
    return f"#{key}"
