"""Digest periods as people type them: ``this week``, ``last month``, ``2026-10``, ``2026-Q3``."""

from __future__ import annotations

import re
from datetime import date

from bot.domain.errors import UserError
from bot.domain.periods import MAX_PERIOD_CHARS, Period, Unreadable, check_year
from bot.domain.values import PeriodKind
from bot.i18n import _
from bot.text import ascii_digits, quote

_RELATIVE = {
    "week": PeriodKind.WEEK,
    "month": PeriodKind.MONTH,
    "quarter": PeriodKind.QUARTER,
    "day": PeriodKind.DAY,
    "today": PeriodKind.DAY,
}
_MONTH_NAMES = {
    name: i
    for i, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}
_MONTH_NAMES.update({name[:3]: i for name, i in list(_MONTH_NAMES.items())})


def parse_digest_period(text: str, today: date) -> Period:
    """Read a period forgivingly; UserError lists what can be written, or names the limit
    (see ``bot.domain.periods``) a period is outside."""
    if len(text.strip()) > MAX_PERIOD_CHARS:
        raise _unreadable(text)
    words = re.sub(r"[\s_]+", " ", ascii_digits(text.strip()).lower())
    if not words or words in ("this week", "week", "current week"):
        return Period.containing(today, PeriodKind.WEEK)
    match = re.fullmatch(
        r"(this|current|last|previous|past)? ?(week|month|quarter|day|today)", words
    )
    if match:
        kind = _RELATIVE[match.group(2)]
        period = Period.containing(today, kind)
        return period.previous() if match.group(1) in ("last", "previous", "past") else period
    match = re.fullmatch(
        r"(?:from )?(\d{4}-\d{2}-\d{2}) ?(?:\.\.|to|until|-) ?(\d{4}-\d{2}-\d{2})", words
    )
    if match:
        return Period.between(
            Period.parse_key(match.group(1)).start, Period.parse_key(match.group(2)).start
        )
    if words == "yesterday":
        return Period.containing(today, PeriodKind.DAY).previous()
    match = re.fullmatch(r"([a-z]+) (\d{4})", words)
    if match and match.group(1) in _MONTH_NAMES:
        check_year(int(match.group(2)))
        return Period(PeriodKind.MONTH, date(int(match.group(2)), _MONTH_NAMES[match.group(1)], 1))
    match = re.fullmatch(r"q([1-4]) (\d{4})", words)
    if match:
        return Period.parse_key(f"{match.group(2)}-Q{match.group(1)}")
    try:
        return Period.parse_key(words.upper() if "q" in words or "w" in words else words)
    except Unreadable:
        raise _unreadable(text) from None


def _unreadable(text: str) -> UserError:
    return UserError(
        _(
            "I could not read the period “{text}”. Try “this week”, “last week”, “last "
            "month”, a month like 2026-10 or “october 2026”, a quarter like 2026-Q3, a week "
            "like 2026-W44, or days like 2026-10-01..2026-10-15.",
            text=quote(text),
        )
    )
