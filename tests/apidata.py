"""A small alliance with a few weeks of history for the API tests, on either database: the
reference rows of ``bench/digest_data.py`` (3 organisations of 4 members, in several time
zones) and, week by week, one exercise prompt per member (most answered, every third member's
answers shared), then the November figures of each organisation's reporting member (one of
them corrected later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from bench.digest_data import EXERCISES, MEASURES, Shape, reference_rows, utc
from bot.domain.periods import Period
from bot.storage.database import Database
from bot.storage.records import CheckIn, Delivery

SHAPE = Shape(organisations=3, per_org=4, weeks=3, last=Period.parse_key("2026-W49"))
FIGURES_MONTH = "2026-11"


def shared(member: int) -> bool:
    return member % 3 == 0


def answered(member: int, week: int) -> bool:
    return (member + week) % 4 != 0


def text_of(member: int, week: int) -> str:
    return f"Answer {week} of member {member:05d}"


@dataclass(frozen=True)
class Made:
    checkins: int
    shared: int


def _delivery(**values: Any) -> dict[str, Any]:
    return {
        "kind": "prompt",
        "status": "sent",
        "attempts": 1,
        "platform": "console",
        "locale": "en",
        "payload": {},
        "lane": 1,
        "reminders_sent": 0,
        "sent_at": values["scheduled_at"],
        "created_at": values["scheduled_at"],
        "occurrence": "",
        "measure_id": None,
        **values,
    }


async def fill(db: Database, shape: Shape = SHAPE) -> Made:
    """Write the history into a migrated, empty database."""
    now = utc(shape.last.end)
    deliveries: list[dict[str, Any]] = []
    checkins: list[dict[str, Any]] = []
    for week_index, week in enumerate(shape.week_list()):
        at = utc(week.start, 9)
        for n in range(1, shape.members + 1):
            did = len(deliveries) + 1
            org = (n - 1) // shape.per_org + 1
            deliveries.append(
                _delivery(
                    id=did,
                    dedupe_key=f"ex:{week_index}:{n}",
                    campaign_id=1,
                    member_id=n,
                    prompt_id=EXERCISES[week_index % 4],
                    organisation_id=org,
                    period_key=week.key,
                    scheduled_at=at,
                    address=f"m{n}",
                )
            )
            if answered(n, week_index):
                checkins.append(
                    {
                        "delivery_id": did,
                        "member_id": n,
                        "organisation_id": org,
                        "prompt_id": EXERCISES[week_index % 4],
                        "measure_id": None,
                        "answer_number": None,
                        "period_key": week.key,
                        "answer_text": text_of(n, week_index),
                        "source": "text",
                        "platform": "console",
                        "answered_at": at + timedelta(hours=1 + n),
                        "starred": n == 2,
                        "shareable": shared(n),
                    }
                )
    at = utc(shape.last.start + timedelta(days=1), 10)  # 1 December
    for org in range(1, shape.organisations + 1):
        reporter = shape.reporting_member(org)
        for measure_id, spec in enumerate(MEASURES, start=1):
            did = len(deliveries) + 1
            deliveries.append(
                _delivery(
                    id=did,
                    dedupe_key=f"fig:{org}:{measure_id}",
                    campaign_id=2,
                    member_id=reporter,
                    prompt_id=spec.prompt_id,
                    measure_id=measure_id,
                    organisation_id=org,
                    period_key=FIGURES_MONTH,
                    scheduled_at=at,
                    address=f"m{reporter}",
                )
            )
            checkins.append(
                {
                    "delivery_id": did,
                    "member_id": reporter,
                    "organisation_id": org,
                    "prompt_id": spec.prompt_id,
                    "measure_id": measure_id,
                    "period_key": FIGURES_MONTH,
                    "answer_text": "",
                    "answer_number": float(10 * org + measure_id),
                    "source": "number",
                    "platform": "console",
                    "answered_at": at + timedelta(hours=org),
                    "starred": False,
                    "shareable": False,
                }
            )
    checkins.append(
        {
            **checkins[-1],
            "delivery_id": None,
            "answer_number": 99.0,
            "answered_at": at + timedelta(days=2),
        }
    )
    # Every row of one executemany names the same columns (the first row's decide).
    async with db.engine.begin() as conn:
        for table, rows in reference_rows(shape, now):
            await conn.execute(insert(table), rows)
        await conn.execute(insert(Delivery.__table__), deliveries)
        await conn.execute(insert(CheckIn.__table__), checkins)
        if not db.is_sqlite:
            for table in ("deliveries", "checkins"):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    return Made(len(checkins), sum(1 for c in checkins if c["shareable"]))
