"""Absences at planning time: who is away on a run's day, and who answers an organisation's
measures when all its reporting members are (its ``backup_reporter`` members, if any).

The same rule as :func:`bot.domain.absence.is_away`, written in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from bot.storage import models as m


def away_on(day: date) -> ColumnElement[bool]:
    """Members away on ``day`` (both ends of an absence included)."""
    return and_(
        m.Member.away_until.is_not(None),
        m.Member.away_until >= day,
        or_(m.Member.away_from.is_(None), m.Member.away_from <= day),
    )


async def stand_ins(
    s: Any,
    roster: Select[*tuple[Any, ...]],
    audience: Sequence[Any],
    zone: Sequence[Any],
    day: date,
) -> list[Any]:
    """The backup reporters who get a measure prompt on ``day``, as ``roster`` selects them.

    An organisation needs them when it has reporting members in the ``audience`` and every
    one of them, in whatever zone, is away that day. Its active ``backup_reporter`` members
    who are not away themselves stand in (those the ``zone`` clauses keep: a run fans out a
    zone at a time); with none, nobody is asked."""
    uncovered = (
        select(m.Member.organisation_id)
        .where(*audience, m.Member.reporting)
        .group_by(m.Member.organisation_id)
        .having(func.sum(case((away_on(day), 0), else_=1)) == 0)
    )
    found = await s.execute(
        roster.where(
            m.Member.active,
            m.Member.backup_reporter,
            m.Member.organisation_id.in_(uncovered),
            ~away_on(day),
            *zone,
        ).order_by(m.Member.id)
    )
    return list(found.all())


def backup_zones(audience: Sequence[Any]) -> Select[str]:
    """The time zones of the backup reporters who may stand in for the ``audience``'s
    reporting members: a campaign fires there too, or they would never be asked."""
    reporting = select(m.Member.organisation_id).where(*audience, m.Member.reporting)
    return (
        select(m.Member.timezone)
        .distinct()
        .where(
            m.Member.active,
            m.Member.backup_reporter,
            m.Member.organisation_id.in_(reporting),
        )
    )
