"""Pure rules: periods and cron schedules read the way admins expect."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.domain.errors import UserError
from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.scheduling.cron import parse_cron


@pytest.mark.parametrize(
    ("key", "kind", "start", "end"),
    [
        ("2026-10", PeriodKind.MONTH, date(2026, 10, 1), date(2026, 11, 1)),
        ("2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-Q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-W01", PeriodKind.WEEK, date(2025, 12, 29), date(2026, 1, 5)),
        ("2026-11-23", PeriodKind.DAY, date(2026, 11, 23), date(2026, 11, 24)),
    ],
)
def test_period_keys_round_trip(key: str, kind: PeriodKind, start: date, end: date) -> None:
    period = Period.parse_key(key)
    assert (period.kind, period.start, period.end, period.key) == (kind, start, end, key)


def test_previous_period_and_labels() -> None:
    november = Period.containing(date(2026, 11, 3), PeriodKind.MONTH)
    assert november.previous().key == "2026-10"
    assert november.previous().label("fr") == "octobre 2026"
    assert november.previous().label("es") == "octubre 2026"
    assert Period.containing(date(2026, 1, 15), PeriodKind.QUARTER).previous().key == "2025-Q4"


def test_unreadable_period_is_a_polite_error() -> None:
    with pytest.raises(UserError, match="2026-10"):
        Period.parse_key("last tuesday-ish")


def test_cron_weekday_numbers_mean_what_crontab_means() -> None:
    monday_9 = parse_cron("0 9 * * 1")
    after = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday, after 09:00 Berlin
    fire = monday_9.next_after(after, "Europe/Berlin")
    assert fire is not None and fire.weekday() == 0 and fire.hour == 9
    assert parse_cron("0 9 * * 0").day_of_week == parse_cron("0 9 * * 7").day_of_week == "sun"
    assert parse_cron("0 9 * * 1-5").day_of_week == "mon,tue,wed,thu,fri"


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("0 9 * *", "4 fields"),
        ("0 25 * * *", "hour"),
        ("0 9 * * funday", "day of the week"),
    ],
)
def test_bad_cron_says_what_to_fix(expr: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as info:
        parse_cron(expr)
    assert "0 9 * * MON" in str(info.value)


def test_day_of_month_and_weekday_together_mean_either_as_in_crontab() -> None:
    spec = parse_cron("0 10 1 * MON")
    fires = []
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    for _ in range(3):
        fire = spec.next_after(moment, "UTC")
        assert fire is not None
        fires.append(fire.date())
        moment = fire
    assert fires == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 7)]


def test_digest_periods_read_forgivingly_including_ranges() -> None:
    from bot.digest.periods import parse_digest_period

    today = date(2026, 11, 25)
    assert parse_digest_period("", today).key == "2026-W48"
    assert parse_digest_period("last week", today).key == "2026-W47"
    assert parse_digest_period("October 2026", today).key == "2026-10"
    assert parse_digest_period("q3 2026", today).key == "2026-Q3"
    days = parse_digest_period("2026-10-01..2026-10-15", today)
    assert (days.start, days.end, days.key) == (
        date(2026, 10, 1),
        date(2026, 10, 16),
        "2026-10-01..2026-10-15",
    )
    assert days.previous().key == "2026-09-16..2026-09-30"
    assert parse_digest_period("from 2026-10-01 to 2026-10-15", today) == days
    assert Period.parse_key(days.key) == days
    with pytest.raises(UserError, match="before it starts"):
        parse_digest_period("2026-10-15..2026-10-01", today)
    with pytest.raises(UserError, match="2026-10-01..2026-10-15"):
        parse_digest_period("the week before christmas", today)


def test_a_range_digest_reports_the_measure_periods_inside_it() -> None:
    from bot.digest.measures import measure_periods

    quarter_days = Period.parse_key("2026-07-01..2026-09-30")
    assert [p.key for p in measure_periods(quarter_days, PeriodKind.MONTH)] == [
        "2026-07",
        "2026-08",
        "2026-09",
    ]
    short = Period.parse_key("2026-10-05..2026-10-09")
    assert [p.key for p in measure_periods(short, PeriodKind.MONTH)] == ["2026-09"]
