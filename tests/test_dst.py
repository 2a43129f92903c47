"""Local times stay right through daylight-saving changes: one prompt a local day, never two."""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.storage import models as m
from bot.storage.records import Delivery
from tests.harnesses.console import ConsoleHarness

ZONES = {"berta": "Europe/Berlin", "nina": "America/New_York", "sam": "Australia/Sydney"}


def alliance(schedule: str) -> str:
    return textwrap.dedent(f"""\
        alliance: {{name: DST Alliance}}
        organisations:
          - {{slug: de, name: DE, country: DE, timezone: Europe/Berlin}}
          - {{slug: us, name: US, country: US, timezone: America/New_York}}
          - {{slug: au, name: AU, country: AU, timezone: Australia/Sydney}}
        members:
          - {{id: berta, name: Berta, organisation: de}}
          - {{id: nina, name: Nina, organisation: us}}
          - {{id: sam, name: Sam, organisation: au}}
        campaigns:
          - key: daily
            name: Daily
            prompts: [name-a-barrier]
            schedule: "{schedule}"
            catch_up: 12h
        """)


async def local_sends(
    tmp_path: Path, url: str, schedule: str, start: datetime, days: int
) -> dict[str, list[datetime]]:
    async with ConsoleHarness.started(tmp_path, url, start, alliance(schedule)) as h:
        for _ in range(days * 3):
            await h.runtime.advance(h.clock.now() + timedelta(hours=8))
        async with h.runtime.db.session() as s:
            rows = (
                await s.execute(
                    select(m.Member.handle, Delivery.scheduled_at, Delivery.status).join(
                        m.Member, m.Member.id == Delivery.member_id
                    )
                )
            ).all()
    assert {status for _, _, status in rows} == {"sent"}
    sends: dict[str, list[datetime]] = {name: [] for name in ZONES}
    for handle, at, _ in rows:
        sends[handle].append(at.astimezone(ZoneInfo(ZONES[handle])))
    return sends


@pytest.mark.parametrize(
    ("start", "label"),
    [
        (datetime(2026, 3, 1, tzinfo=UTC), "spring in Europe and America, autumn in Australia"),
        (datetime(2026, 9, 28, tzinfo=UTC), "spring in Australia, autumn in Europe and America"),
    ],
)
async def test_nine_oclock_survives_both_changes(
    tmp_path: Path, sqlite_url: str, start: datetime, label: str
) -> None:
    days = 40
    sends = await local_sends(tmp_path, sqlite_url, "0 9 * * *", start, days)
    for name, local in sends.items():
        assert {t.hour for t in local} == {9}, (label, name)
        assert {t.minute for t in local} == {0}, (label, name)
        per_day = Counter(t.date() for t in local)
        assert max(per_day.values()) == 1, (label, name)
        first, last = min(per_day), max(per_day)
        expected = {first + timedelta(days=i) for i in range((last - first).days + 1)}
        assert set(per_day) == expected, (label, name, sorted(expected - set(per_day)))
        assert len(per_day) >= days - 2


async def test_a_time_that_does_not_exist_or_happens_twice_still_sends_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    """02:30 is skipped by the spring change and repeated by the autumn one in Berlin."""
    spring = await local_sends(
        tmp_path / "a",
        sqlite_url.replace("bot.db", "a.db"),
        "30 2 * * *",
        datetime(2026, 3, 27, tzinfo=UTC),
        4,
    )
    autumn = await local_sends(
        tmp_path / "b",
        sqlite_url.replace("bot.db", "b.db"),
        "30 2 * * *",
        datetime(2026, 10, 23, tzinfo=UTC),
        4,
    )
    spring_days = Counter(t.date() for t in spring["berta"])
    autumn_days = Counter(t.date() for t in autumn["berta"])
    assert spring_days[date(2026, 3, 29)] == 1
    assert autumn_days[date(2026, 10, 25)] == 1
    assert max(spring_days.values()) == max(autumn_days.values()) == 1
