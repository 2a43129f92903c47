"""What the alliance file writes for the console: any name (a member's id when none is given)."""

from __future__ import annotations


def member_default(member_id: str) -> str:
    return member_id


def channel_default(key: str) -> str:
    return f"#{key}"
