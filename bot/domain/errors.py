"""Errors whose message a person is meant to read."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; ``str(err)`` is the polite sentence shown to them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
