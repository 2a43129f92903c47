"""Reporting periods: a day, an ISO week, a month or a quarter, keyed by stable strings.

The limits of a period read from what someone typed: its years run from :data:`FIRST_YEAR` to
:data:`LAST_YEAR`, a run of days is at most :data:`MAX_RANGE_DAYS` long, and the text is at
most :data:`MAX_PERIOD_CHARS` characters. Digits of any script count (``２０２６-10``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.errors import UserError
from bot.domain.values import PeriodKind
from bot.i18n import Number, _
from bot.text import ascii_digits, quote

FIRST_YEAR = 1900
LAST_YEAR = 2999
MAX_RANGE_DAYS = 366
"""A run of days (``2026-01-01..2026-12-31``) covers at most a year."""
MAX_PERIOD_CHARS = 64

_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}
_WEEK_WORD = {"en": "week {w} of {y}", "fr": "la semaine {w} de {y}", "es": "la semana {w} de {y}"}

_KEY_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.DAY, re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{1,2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)),
)


class Unreadable(UserError):
    """The text is not a period at all (as opposed to a period outside the limits)."""


def check_year(year: int) -> None:
    """UserError unless periods may lie in ``year``."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UserError(
            _(
                "Periods lie between the years {first} and {last}; {year} is outside them. "
                "Check the year and ask again.",
                first=FIRST_YEAR,
                last=LAST_YEAR,
                year=year,
            )
        )


@dataclass(frozen=True, order=True)
class Period:
    """A half-open range of local dates [start, end) of one kind."""

    kind: PeriodKind
    start: date
    stop: date | None = None
    """The first day after a RANGE; the other kinds derive their end from their kind."""

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        """The days from ``first`` to ``last``, both included."""
        if last < first:
            raise UserError(
                _(
                    "The period ends ({last}) before it starts ({first}); write the earlier day "
                    "first.",
                    last=last.isoformat(),
                    first=first.isoformat(),
                )
            )
        check_year(first.year)
        check_year(last.year)
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise UserError(
                _(
                    "That run of days is {days} days long; a period covers at most {most} days "
                    "(a year). Ask for a shorter one, or a quarter.",
                    days=Number((last - first).days + 1),
                    most=MAX_RANGE_DAYS,
                )
            )
        return cls(PeriodKind.RANGE, first, last + timedelta(days=1))

    @classmethod
    def containing(cls, day: date, kind: PeriodKind) -> Period:
        if kind is PeriodKind.RANGE:
            raise ValueError("a range does not follow from one day")
        if kind is PeriodKind.DAY:
            return cls(kind, day)
        if kind is PeriodKind.WEEK:
            return cls(kind, day - timedelta(days=day.weekday()))
        if kind is PeriodKind.MONTH:
            return cls(kind, day.replace(day=1))
        return cls(kind, date(day.year, 3 * ((day.month - 1) // 3) + 1, 1))

    @classmethod
    def parse_key(cls, key: str) -> Period:
        """Read a key such as ``2026-11-23``, ``2026-W48``, ``2026-11``, ``2026-Q4`` or
        ``2026-10-01..2026-10-15``."""
        text = ascii_digits(key.strip())
        if len(text) > MAX_PERIOD_CHARS:
            raise UserError(
                _(
                    "A period is a few characters, like 2026-10 or 2026-W44; that one has "
                    "{count}. Nothing was looked up.",
                    count=Number(len(text)),
                )
            )
        if ".." in text:
            ends = text.split("..")
            if len(ends) == 2:
                a, b = cls.parse_key(ends[0]), cls.parse_key(ends[1])
                if a.kind is PeriodKind.DAY and b.kind is PeriodKind.DAY:
                    return cls.between(a.start, b.start)
        for kind, pattern in _KEY_PATTERNS:
            match = pattern.match(text)
            if not match:
                continue
            year, part = int(match.group(1)), int(match.group(2))
            check_year(year)
            try:
                if kind is PeriodKind.DAY:
                    return cls(kind, date(year, part, int(match.group(3))))
                if kind is PeriodKind.WEEK:
                    return cls(kind, date.fromisocalendar(year, part, 1))
                if kind is PeriodKind.MONTH:
                    return cls(kind, date(year, part, 1))
                return cls(kind, date(year, 3 * (part - 1) + 1, 1))
            except ValueError:
                break
        raise Unreadable(
            _(
                "I could not read the period “{text}”. Use a day (2026-10-31), a week "
                "(2026-W44), a month (2026-10) or a quarter (2026-Q4).",
                text=quote(key),
            )
        )

    @property
    def end(self) -> date:
        """The first day after the period."""
        if self.kind is PeriodKind.RANGE:
            assert self.stop is not None
            return self.stop
        if self.kind is PeriodKind.DAY:
            return self.start + timedelta(days=1)
        if self.kind is PeriodKind.WEEK:
            return self.start + timedelta(days=7)
        months = 1 if self.kind is PeriodKind.MONTH else 3
        month0 = self.start.month - 1 + months
        return date(self.start.year + month0 // 12, month0 % 12 + 1, 1)

    @property
    def key(self) -> str:
        if self.kind is PeriodKind.RANGE:
            return f"{self.start.isoformat()}..{(self.end - timedelta(days=1)).isoformat()}"
        if self.kind is PeriodKind.DAY:
            return self.start.isoformat()
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    def previous(self) -> Period:
        if self.kind is PeriodKind.RANGE:
            return Period(self.kind, self.start - (self.end - self.start), self.start)
        return Period.containing(self.start - timedelta(days=1), self.kind)

    def next(self) -> Period:
        if self.kind is PeriodKind.RANGE:
            return Period(self.kind, self.end, self.end + (self.end - self.start))
        return Period(self.kind, self.end)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def label(self, locale: str = "en") -> str:
        """A human name for the period in the member's language (English when unknown)."""
        lang = locale if locale in _MONTHS else "en"
        if self.kind is PeriodKind.RANGE:
            last = self.end - timedelta(days=1)
            return (
                f"{Period(PeriodKind.DAY, self.start).label(lang)} – "
                f"{Period(PeriodKind.DAY, last).label(lang)}"
            )
        if self.kind is PeriodKind.DAY:
            return f"{self.start.day} {_MONTHS[lang][self.start.month - 1]} {self.start.year}"
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.start.isocalendar()
            return _WEEK_WORD[lang].format(w=week, y=year)
        if self.kind is PeriodKind.MONTH:
            return f"{_MONTHS[lang][self.start.month - 1]} {self.start.year}"
        return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"

    def __str__(self) -> str:
        return self.key
