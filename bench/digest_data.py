"""Digest benchmark data: the shape of the alliance (sizes, rates, exercises, zones, measures)
and its reference rows (alliance, organisations, members, prompts, measures, targets,
campaigns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

from bot.domain.periods import Period
from bot.domain.values import PeriodKind
from bot.library import load_library
from bot.storage import models as m

ORGANISATIONS = 500
PER_ORG = 20  # 500 × 20 = 10,000 members
WEEKS = 110  # 10,000 × 110 × ~0.9 answered ≈ 990,000 exercise check-ins, ~1.02M in all
LAST_WEEK = "2026-W49"  # holds 1 December: the monthly figures prompts go out in it
CHUNK = 20_000  # rows per executemany
FLUSH = 60_000  # deliveries + check-ins per transaction
ANSWER_RATE = 0.9
FIGURE_RATE = 0.92
QUIET_EVERY = 100  # organisations 100, 200, ... answer nothing in the last three weeks
EXERCISES = (
    "name-a-barrier",
    "agenda-shared-challenge",
    "comms-wish-partners-knew",
    "activities-unmet-need",
)
ZONES = ("Europe/Berlin", "Europe/Paris", "Africa/Nairobi", "America/Bogota", "Asia/Jakarta")
ANSWERS = (
    "Nobody knew who owned the shared calendar; a named owner would have fixed it.",
    "Our opening hours do not overlap with the partner's, so referrals wait a week.",
    "We lack a volunteer who can run the Tuesday session in Spanish.",
    "The data-sharing agreement is still with the legal team.",
    "Transport: people cannot reach the centre after 6 pm.",
    "A shared sign-up sheet would stop double bookings.",
)


@dataclass(frozen=True)
class MeasureSpec:
    key: str
    prompt_id: str
    name: str
    aggregation: str
    target: float
    low: int
    high: int


MEASURES = (
    MeasureSpec("people_reached", "measure-people-reached", "People reached", "sum", 6000, 0, 40),
    MeasureSpec("volunteer_hours", "measure-volunteer-hours", "Volunteer hours", "mean", 35, 0, 80),
    MeasureSpec("devices_lent", "measure-devices-lent", "Devices lent", "latest", 900, 0, 6),
)


@dataclass(frozen=True)
class Shape:
    organisations: int
    per_org: int
    weeks: int
    last: Period

    @property
    def members(self) -> int:
        return self.organisations * self.per_org

    def week_list(self) -> list[Period]:
        found = [self.last]
        while len(found) < self.weeks:
            found.insert(0, found[0].previous())
        return found

    def reporting_member(self, org: int) -> int:
        return (org - 1) * self.per_org + 1


def utc(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, dtime(hour), UTC)


def reference_rows(shape: Shape, now: datetime) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Alliance, organisations, members, prompts, measures and targets, campaigns."""
    library, problems = load_library()
    if problems:
        raise SystemExit(f"the prompt library has problems: {problems[:3]}")
    prompts = [library.get(pid) for pid in (*EXERCISES, *(ms.prompt_id for ms in MEASURES))]
    alliance = [
        {
            "id": 1,
            "name": "Bench Alliance",
            "default_locale": "en",
            "default_timezone": "UTC",
            "loaded_at": now,
            "source_digest": "",
        }
    ]
    orgs = [
        {
            "id": o,
            "slug": f"org-{o:03d}",
            "name": f"Organisation {o:03d}",
            "kind": "library",
            "country": "DE",
            "timezone": ZONES[o % len(ZONES)],
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for o in range(1, shape.organisations + 1)
    ]
    members = [
        {
            "id": n,
            "handle": f"m{n:05d}",
            "display_name": f"Member {n:05d}",
            "organisation_id": (n - 1) // shape.per_org + 1,
            "role": "member",
            "timezone": ZONES[((n - 1) // shape.per_org + 1) % len(ZONES)],
            "locale": "en",
            "reporting": (n - 1) % shape.per_org == 0,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, shape.members + 1)
    ]
    prompt_rows = [
        {
            "id": p.id,
            "kind": p.kind.value,
            "answer_type": p.answer.value,
            "source": "library",
            "definition": p.model_dump(mode="json", exclude_none=True),
            "updated_at": now,
        }
        for p in prompts
    ]
    measures = []
    for index, ms in enumerate(MEASURES, start=1):
        unit = library.get(ms.prompt_id).unit
        measures.append(
            {
                "id": index,
                "key": ms.key,
                "name": ms.name,
                "unit": unit["en"] if unit else "",
                "aggregation": ms.aggregation,
                "period": PeriodKind.MONTH.value,
                "target": float(ms.target),
                "prompt_id": ms.prompt_id,
                "active": True,
            }
        )
    targets = [
        {
            "measure_id": index,
            "organisation_id": o,
            "target": float(round(ms.target / shape.organisations, 1) or 1),
        }
        for index, ms in enumerate(MEASURES[:2], start=1)
        for o in range(1, shape.organisations + 1)
    ]
    campaign = {
        "description": "",
        "prompt_order": "all",
        "channel_keys": [],
        "direct": True,
        "timezone": None,
        "reminder_after_minutes": None,
        "reminder_max": 0,
        "catch_up_minutes": 360,
        "skip_holidays": False,
        "measure_period": "previous",
        "starts_on": None,
        "ends_on": None,
        "paused": False,
        "active": True,
        "updated_at": now,
    }
    campaigns = [
        {
            **campaign,
            "id": 1,
            "key": "weekly",
            "name": "Weekly exercise",
            "prompt_ids": list(EXERCISES),
            "prompt_order": "rotate",
            "audience": {"roles": ["member"]},
            "schedule": "0 9 * * MON",
        },
        {
            **campaign,
            "id": 2,
            "key": "figures",
            "name": "Monthly figures",
            "prompt_ids": [ms.prompt_id for ms in MEASURES],
            "audience": {"reporting_only": True},
            "schedule": "0 10 1 * *",
        },
    ]
    return [
        (m.Alliance.__table__, alliance),
        (m.Organisation.__table__, orgs),
        (m.Member.__table__, members),
        (m.Prompt.__table__, prompt_rows),
        (m.Measure.__table__, measures),
        (m.MeasureTarget.__table__, targets),
        (m.Campaign.__table__, campaigns),
    ]
