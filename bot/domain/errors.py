"""Errors whose message a person is meant to read."""

from __future__ import annotations

from bot.i18n import Text, translate


class UserError(Exception):
    """A problem the user can fix; ``message`` is the polite sentence shown to them (a
    :class:`~bot.i18n.Text`, translated for its reader with :meth:`in_`)."""

    def __init__(self, message: Text | str) -> None:
        super().__init__(str(message))
        self.message = message

    def in_(self, locale: str) -> str:
        return translate(self.message, locale)

    def __str__(self) -> str:
        return str(self.message)
