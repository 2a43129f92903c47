"""Absences: the days a member is away, and how they say so (``away until 2026-12-24``).

Pure: no storage and no clock. ``bot/away.py`` runs the commands; the reminders ask
:func:`is_away` about a day, and ``bot/scheduling/absence.py`` asks the same in SQL.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.domain.errors import UserError
from bot.text import ascii_digits, quote

HOW = (
    "Write the last day you are away, like “away until 2026-12-24” or “away 2026-12-24”, "
    "or for how long, like “away 2w” or “away 10d”."
)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_LENGTH = re.compile(r"(\d+) ?(d|days?|w|weeks?)")
_LEADING = ("until ", "till ", "til ")
LONGEST_DAYS = 366


def is_away(day: date, away_from: date | None, away_until: date | None) -> bool:
    """Whether ``day`` falls in an absence (both ends included); no ``away_until``: never."""
    return away_until is not None and day <= away_until and (away_from is None or away_from <= day)


def a_year_after(day: date) -> date:
    """The same day a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def long_date(day: date) -> str:
    """``Thursday 24 December 2026``."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def parse_until(text: str, today: date) -> date:
    """The last day away (included) that ``text`` names: a date (``2026-12-24``, after an
    optional ``until``) or a length counted from ``today`` (``2w``: today and 13 more days).

    Anything else, a day before ``today`` or more than a year ahead is a UserError that says
    what was wrong and how to write it."""
    words = " ".join(ascii_digits(text).lower().split())
    for lead in _LEADING:
        words = words.removeprefix(lead)
    unchanged = "Nothing was changed."
    if _DATE.fullmatch(words):
        year, month, day = (int(part) for part in words.split("-"))
        try:
            until = date(year, month, day)
        except ValueError:
            raise UserError(
                f"“{quote(text)}” is not a real date (check the month and the day). "
                f"{unchanged} {HOW}"
            ) from None
    elif length := _LENGTH.fullmatch(words):
        figure, unit = length.group(1), length.group(2)
        days = int(figure) * (7 if unit.startswith("w") else 1) if len(figure) < 6 else 10**6
        if days == 0:
            raise UserError(f"“{quote(text)}” is no time at all. {unchanged} {HOW}")
        if days > LONGEST_DAYS:
            raise UserError(
                f"“{quote(text)}” is longer than a year; the furthest I take is "
                f"{long_date(a_year_after(today))}. {unchanged} {HOW}"
            )
        until = today + timedelta(days=days - 1)
    else:
        raise UserError(
            f"I could not read “{quote(text)}” as a date or a length of time. {unchanged} {HOW}"
        )
    if until < today:
        raise UserError(
            f"{long_date(until)} is in the past (today is {long_date(today)}). {unchanged} {HOW}"
        )
    if until > a_year_after(today):
        raise UserError(
            f"{long_date(until)} is more than a year ahead; the furthest I take is "
            f"{long_date(a_year_after(today))}. {unchanged} {HOW}"
        )
    return until
