"""``digest [period] [organisation]``: an organisation by slug, name or an unambiguous part of
either; candidates listed when a part fits several; the period never blamed for an unknown
organisation (issue 15, point 7)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.digest.filter import Org, split_filter
from bot.digest.periods import parse_digest_period
from bot.domain.errors import UserError
from bot.domain.periods import Period

ORGS = [
    Org("leipzig-lib", "Stadtbibliothek Leipzig"),
    Org("lyon-bib", "Bibliothèque municipale de Lyon"),
    Org("lyon-ngo", "Lyon Numérique Solidaire"),
    Org("weekly", "Weekly Readers"),
]
TODAY = date(2026, 12, 5)


def split(text: str) -> tuple[Period, str | None]:
    period, org = split_filter(text.split(), ORGS, lambda t: parse_digest_period(t, TODAY))
    return period, org.slug if org else None


@pytest.mark.parametrize(
    ("typed", "key", "slug"),
    [
        ("", "2026-W49", None),
        ("last week", "2026-W48", None),
        ("2026-11 leipzig", "2026-11", "leipzig-lib"),
        ("2026-11 Stadtbibliothek Leipzig", "2026-11", "leipzig-lib"),
        ("leipzig-lib", "2026-W49", "leipzig-lib"),
        ("last month stadt", "2026-11", "leipzig-lib"),
        ("2026-11 lyon-bib", "2026-11", "lyon-bib"),
        ("week", "2026-W49", None),  # the period, not “Weekly Readers”
        ("2026-11 weekly", "2026-11", "weekly"),
    ],
)
def test_the_period_and_the_organisation_are_told_apart(typed: str, key: str, slug: str) -> None:
    period, org = split(typed)
    assert (period.key, org) == (key, slug)


def test_a_part_that_fits_several_lists_them() -> None:
    with pytest.raises(UserError) as refused:
        split("2026-11 lyon")
    text = str(refused.value)
    assert "fits several organisations" in text
    assert "Bibliothèque municipale de Lyon (lyon-bib)" in text and "(lyon-ngo)" in text


def test_an_unknown_organisation_is_named_not_the_period() -> None:
    with pytest.raises(UserError, match="No organisation is called “leipzg”"):
        split("2026-11 leipzg")


def test_an_unreadable_period_is_still_the_periods_error() -> None:
    with pytest.raises(UserError, match="could not read the period “2026-13”"):
        split("2026-13 leipzig")
