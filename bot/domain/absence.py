"""Absences: the days a member is away, and how they say so (``away until 2026-12-24``).

Pure: no storage and no clock. ``bot/away.py`` runs the commands; the reminders ask
:func:`is_away` about a day, and ``bot/scheduling/absence.py`` asks the same in SQL.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.domain.errors import UserError
from bot.i18n import Day, Text, _
from bot.text import ascii_digits, quote

HOW = _(
    "Write the last day you are away, like “away until 2026-12-24” or “away 2026-12-24”, "
    "or for how long, like “away 2w” or “away 10d”."
)
UNCHANGED = _("Nothing was changed.")
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
    """``Thursday 24 December 2026`` (English; readers get :class:`bot.i18n.Day`)."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def parse_until(text: str, today: date) -> date:
    """The last day away (included) that ``text`` names: a date (``2026-12-24``, after an
    optional ``until``) or a length counted from ``today`` (``2w``: today and 13 more days).

    Anything else, a day before ``today`` or more than a year ahead is a UserError that says
    what was wrong and how to write it."""
    words = " ".join(ascii_digits(text).lower().split())
    for lead in _LEADING:
        words = words.removeprefix(lead)
    typed = quote(text)
    if _DATE.fullmatch(words):
        year, month, day = (int(part) for part in words.split("-"))
        try:
            until = date(year, month, day)
        except ValueError:
            raise _refused(
                _("“{text}” is not a real date (check the month and the day).", text=typed)
            ) from None
    elif length := _LENGTH.fullmatch(words):
        figure, unit = length.group(1), length.group(2)
        days = int(figure) * (7 if unit.startswith("w") else 1) if len(figure) < 6 else 10**6
        if days == 0:
            raise _refused(_("“{text}” is no time at all.", text=typed))
        if days > LONGEST_DAYS:
            raise _refused(
                _(
                    "“{text}” is longer than a year; the furthest I take is {furthest}.",
                    text=typed,
                    furthest=Day(a_year_after(today)),
                )
            )
        until = today + timedelta(days=days - 1)
    else:
        raise _refused(_("I could not read “{text}” as a date or a length of time.", text=typed))
    if until < today:
        raise _refused(
            _(
                "{day} is in the past (today is {today}).",
                day=Day(until),
                today=Day(today),
            )
        )
    if until > a_year_after(today):
        raise _refused(
            _(
                "{day} is more than a year ahead; the furthest I take is {furthest}.",
                day=Day(until),
                furthest=Day(a_year_after(today)),
            )
        )
    return until


def parse_absence(text: str, today: date) -> tuple[date, date]:
    """The first and last days away (both included) that ``text`` names: what
    :func:`parse_until` reads, from ``today``; or ``from <day> until <day>`` (or ``from <day>
    2w``) for an absence that starts later."""
    words = " ".join(ascii_digits(text).lower().split())
    if not words.startswith("from "):
        return today, parse_until(text, today)
    first, _sep, rest = words.removeprefix("from ").partition(" ")
    if not _DATE.fullmatch(first):
        raise _refused(
            _(
                "“{text}” is not a first day; write it as YYYY-MM-DD, like “away from "
                "2026-12-20 until 2026-12-24”.",
                text=quote(first),
            )
        )
    start = parse_until(first, today)
    rest = rest.removeprefix("to ")
    if not rest:
        raise _refused(_("Say until when, like “away from 2026-12-20 until 2026-12-24”."))
    until = parse_until(rest, start)
    if until > a_year_after(today):
        raise _refused(
            _(
                "{day} is more than a year ahead; the furthest I take is {furthest}.",
                day=Day(until),
                furthest=Day(a_year_after(today)),
            )
        )
    return start, until


def _refused(why: Text) -> UserError:
    """``why``, then that nothing changed and how to write an absence."""
    return UserError(_("{why} {unchanged} {how}", why=why, unchanged=UNCHANGED, how=HOW))
