"""The field types the alliance file's items share: each checks one value (a time zone, a
cron line, a country, a day…) and says how to fix it."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from datetime import date, datetime
from functools import cache
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)

from bot.digest.periods import parse_digest_period
from bot.domain.errors import UserError
from bot.scheduling.cron import parse_cron
from bot.text import quote

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_TARGET = 1e12
"""The largest target a measure takes (finite: no .inf or .nan)."""


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_zone(value: str) -> str:
    if value in _zones() or value == "UTC":
        return value
    close = difflib.get_close_matches(value, sorted(_zones()), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else " Use an IANA name such as Europe/Berlin."
    raise ValueError(f"“{value}” is not a time zone I know.{hint}")


def check_cron(value: str) -> str:
    parse_cron(value)
    return value


def check_country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(
            f"“{value}” is not a country code; use the two capital letters of "
            f"ISO 3166, like {value.upper()[:2] if len(value) >= 2 else 'FR'}."
        )
    return value


def check_digest_period(value: str) -> str:
    try:
        parse_digest_period(value, date(2026, 1, 15))
    except UserError as exc:
        raise ValueError(str(exc)) from None
    return value


def check_locale(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}([-_][A-Za-z]{2})?", value):
        raise ValueError(f"“{value}” is not a language code; use two letters such as en, fr, es.")
    return value


MAX_MINUTES = 366 * 1440
"""The longest duration an alliance file takes (reminders, catch-up): a year."""


def parse_duration(value: str | int) -> int:
    """Minutes in ``"2d"``, ``"36h"``, ``"1d12h"``, ``"90m"`` (a bare number is minutes)."""
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", text)
    if not text or not match or not any(match.groups()):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise ValueError(f"“{shown}” is not a duration; write it like 2d, 36h, 1d12h or 90m.")
    too_long = "that duration is longer than a year (366d), the longest allowed."
    if any(len(g or "") > 9 for g in match.groups()):
        raise ValueError(too_long)
    days, hours, minutes = (int(g or 0) for g in match.groups())
    total = days * 1440 + hours * 60 + minutes
    if total > MAX_MINUTES:
        raise ValueError(too_long)
    return total


def check_day(value: object) -> object:
    """A day as the file writes it, ``2026-12-20`` (YAML makes it a date; quoted, it is text)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value).strip()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"“{quote(text)}” is not a real date; check the month and the day."
            ) from None
    raise ValueError(f"“{quote(text)}” is not a day; write it as YYYY-MM-DD, like 2026-12-20.")


Zone = Annotated[str, AfterValidator(check_zone)]
Cron = Annotated[str, AfterValidator(check_cron)]
Locale = Annotated[str, AfterValidator(check_locale)]
Slug = Annotated[str, Field(pattern=SLUG)]
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES)]
Target = Annotated[float, Field(ge=0, le=MAX_TARGET, allow_inf_nan=False)]
Day = Annotated[date, BeforeValidator(check_day)]
