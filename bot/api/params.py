"""The API's query parameters, read without I/O: periods, cursors, limits. A value that cannot
be read is a :class:`BadInput` naming the parameter; the HTTP edge turns it into a 400."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import PeriodKind

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
"""A larger ``limit`` is capped to this."""
MAX_PERIODS = 60
"""The most periods one range may name (five years of months, a year of weeks)."""
_CURSOR = re.compile(r"^([a-z_]+):([0-9]{1,18})$")
_PERIOD_HELP = (
    "a day (2026-10-31), a week (2026-W44), a month (2026-10) or a quarter (2026-Q4), or two "
    "of the same kind joined by '..' for every period from the first to the second "
    "(2026-09..2026-11)"
)


class ApiError(Exception):
    """A request the API refuses; ``message`` is for the developer calling it (English)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadInput(ApiError):
    """A parameter that cannot be read (400)."""


class Unauthorized(ApiError):
    """No token, or one that is unknown or revoked (401)."""


class Forbidden(ApiError):
    """The token's role may not see this (403)."""


@dataclass(frozen=True)
class PageRequest:
    after: int
    """The last id of the previous page (0: from the start)."""
    limit: int


def page_request(kind: str, cursor: str | None, limit: str | None) -> PageRequest:
    return PageRequest(read_cursor(kind, cursor), read_limit(limit))


def read_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise BadInput("bad_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return min(int(text), MAX_LIMIT)


def make_cursor(kind: str, last_id: int) -> str:
    """An opaque cursor: the page's last id, for this kind of list only."""
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def read_cursor(kind: str, cursor: str | None) -> int:
    if not cursor:
        return 0
    bad = BadInput(
        "bad_cursor",
        "cursor is not one this list gave: pass the 'next' link (or its cursor) unchanged.",
    )
    if len(cursor) > 64:
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    match = _CURSOR.match(text)
    if match is None or match.group(1) != kind:
        raise bad
    return int(match.group(2))


def _one(text: str) -> Period:
    try:
        period = Period.parse_key(text)
    except UserError:
        raise BadInput("bad_period", f"period {text!r} is not {_PERIOD_HELP}.") from None
    if period.kind is PeriodKind.RANGE:
        raise BadInput("bad_period", f"period {text!r} is not {_PERIOD_HELP}.")
    return period


def read_periods(text: str | None, *, required: bool = True) -> list[Period]:
    """``2026-11`` (one period) or ``2026-09..2026-11`` (each month from September to
    November). None or empty: [] when not ``required``, else BadInput."""
    if text is None or not text.strip():
        if required:
            raise BadInput("missing_period", f"period is required: {_PERIOD_HELP}.")
        return []
    if len(text) > 64:
        raise BadInput("bad_period", f"period is at most 64 characters: {_PERIOD_HELP}.")
    first_text, dots, last_text = text.strip().partition("..")
    first = _one(first_text)
    if not dots:
        return [first]
    last = _one(last_text)
    if last.kind is not first.kind:
        raise BadInput("bad_period", f"both ends of period {text!r} must be of the same kind.")
    if last.start < first.start:
        raise BadInput("bad_period", f"period {text!r} ends before it starts.")
    periods = [first]
    while periods[-1].start < last.start:
        if len(periods) >= MAX_PERIODS:
            raise BadInput("bad_period", f"period {text!r} names more than {MAX_PERIODS} periods.")
        periods.append(periods[-1].next())
    return periods
