"""``retention: 18 months``: how long members' answers are kept, as the alliance file says.

Months and years are calendar ones: with 18 months, on 2028-05-31 what was answered before
2026-11-30 is purged (a day that does not exist in the earlier month becomes its last day).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

UNITS = {
    "d": "day",
    "day": "day",
    "days": "day",
    "w": "week",
    "wk": "week",
    "week": "week",
    "weeks": "week",
    "mo": "month",
    "month": "month",
    "months": "month",
    "y": "year",
    "yr": "year",
    "year": "year",
    "years": "year",
}
MAX_DAYS = 100 * 366
"""The longest retention written as a period: a century (leave it out to keep everything)."""
_FORM = re.compile(r"(\d{1,6})\s*([a-z]+)")
HOW = (
    "write it like 18 months, 90 days, 26 weeks or 2 years (leave `retention` out to keep "
    "answers until they are deleted)"
)


@dataclass(frozen=True)
class Retention:
    count: int
    unit: str
    """day, week, month or year."""

    def __str__(self) -> str:
        return f"{self.count} {self.unit}{'' if self.count == 1 else 's'}"

    @property
    def approx_days(self) -> int:
        per = {"day": 1, "week": 7, "month": 31, "year": 366}[self.unit]
        return self.count * per

    def cutoff(self, now: datetime) -> datetime:
        """The moment before which everything is older than the retention."""
        if self.unit == "day":
            return now - timedelta(days=self.count)
        if self.unit == "week":
            return now - timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "year" else 1)
        return months_before(now, months)


def months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_retention(value: object) -> Retention:
    """``18 months``, ``90 days``, ``26 weeks``, ``2 years`` (or ``18mo``, ``90d``...);
    ValueError with the sentence to show for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"retention is a period of time; {HOW}.")
    text = str(value).strip().lower()
    shown = text if len(text) <= 40 else text[:40] + "…"
    if isinstance(value, int) or text.isdigit():
        raise ValueError(f"retention “{shown}” has no unit; {HOW}.")
    match = _FORM.fullmatch(text)
    unit = UNITS.get(match.group(2)) if match else None
    if match is None or unit is None:
        raise ValueError(f"“{shown}” is not a retention period; {HOW}.")
    retention = Retention(int(match.group(1)), unit)
    if retention.count == 0:
        raise ValueError(
            "a retention of 0 would delete every answer as soon as it is given; use at least "
            "1 day (or leave `retention` out to keep answers until they are deleted)."
        )
    if retention.approx_days > MAX_DAYS:
        raise ValueError(
            f"a retention of {retention} is longer than a century; leave `retention` out to "
            "keep answers until they are deleted."
        )
    return retention


def check_retention(value: object) -> str | None:
    """The alliance file's value, normalised (``18 months``) for the database; None: keep."""
    if value is None:
        return None
    return str(parse_retention(value))
