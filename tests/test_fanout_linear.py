"""A fan-out on a public holiday costs what it costs on any other day, on SQLite and PostgreSQL.

Members of a German and an American organisation alternate by id; on Easter Monday the Germans'
prompts are SKIPPED and the Americans' PENDING, so consecutive rows differ in their NULL columns
(``next_attempt_at``). That once made one INSERT a row; now it is one per chunk of the fan-out.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import holidays
import pytest
from sqlalchemy import event, func, select

from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.clock import ManualClock
from bot.scheduling import planner as planner_module
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.bulk import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.records import Delivery

MEMBERS = 300
CHUNK = 128
EASTER_MONDAY = date(2026, 4, 6)  # a public holiday in Germany, a working day in the US
START = datetime(2026, 4, 5, 12, 0, tzinfo=UTC)
HOLIDAY_FIRE = datetime(2026, 4, 6, 7, 5, tzinfo=UTC)  # 09:05 in Berlin
ORDINARY_FIRE = datetime(2026, 4, 7, 7, 5, tzinfo=UTC)  # the Tuesday after


def alliance(members: int) -> str:
    people = "\n".join(
        f"  - {{id: m{n:04d}, name: Member {n}, organisation: {'de' if n % 2 == 0 else 'us'}}}"
        for n in range(members)
    )
    return (
        textwrap.dedent("""\
            alliance: {name: Holiday Alliance, default_timezone: Europe/Berlin}
            organisations:
              - {slug: de, name: DE, country: DE, timezone: Europe/Berlin}
              - {slug: us, name: US, country: US, timezone: America/New_York}
            campaigns:
              - key: daily
                name: Daily
                prompts: [name-a-barrier]
                schedule: "0 9 * * *"
                timezone: Europe/Berlin
                catch_up: 3h
                skip_holidays: true
            members:
            """)
        + people
        + "\n"
    )


async def loaded(database: Database, tmp_path: Path) -> Planner:
    path = tmp_path / "alliance.yaml"
    path.write_text(alliance(MEMBERS), encoding="utf-8")
    spec, problems = validate_file(path)
    assert spec is not None, problems
    await load_alliance(database, spec)
    planner = Planner(database, ManualClock(START), ["console"])
    planner.chunk_rows = CHUNK
    await planner.tick()  # the first look only places the campaign's cursor
    return planner


@contextmanager
def counting_inserts(database: Database) -> Iterator[list[int]]:
    """Counts the INSERT statements sent for the deliveries table (each multi-row page is one)."""
    counted = [0]

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            counted[0] += 1

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def fire(planner: Planner, at: datetime) -> tuple[int, int]:
    """Tick at ``at``; return the deliveries the tick created and the INSERTs it took."""
    assert isinstance(planner.clock, ManualClock)
    planner.clock.set(at)
    with counting_inserts(planner.db) as inserts:
        created = await planner.tick()
    return created, inserts[0]


async def statuses(db: Database, day: date) -> list[tuple[str, str]]:
    """(member handle, status) of the day's prompts, in member id order."""
    async with db.session() as s:
        rows = await s.execute(
            select(m.Member.handle, Delivery.status)
            .join(m.Member, m.Member.id == Delivery.member_id)
            .where(Delivery.occurrence.startswith(day.isoformat()))
            .order_by(m.Member.id)
        )
        return [(handle, status) for handle, status in rows.all()]


def test_the_day_is_a_holiday_in_germany_only() -> None:
    assert EASTER_MONDAY in holidays.country_holidays("DE", years=2026)
    assert EASTER_MONDAY not in holidays.country_holidays("US", years=2026)


async def test_a_holiday_fan_out_takes_as_few_inserts_as_an_ordinary_day(
    database: Database, tmp_path: Path
) -> None:
    planner = await loaded(database, tmp_path)
    created, holiday_inserts = await fire(planner, HOLIDAY_FIRE)
    rows = await statuses(database, EASTER_MONDAY)
    assert created == len(rows) == MEMBERS
    expected = [(f"m{n:04d}", "skipped" if n % 2 == 0 else "pending") for n in range(MEMBERS)]
    assert rows == expected
    assert sum(status == "skipped" for _, status in rows) == MEMBERS // 2
    assert sum(status == "pending" for _, status in rows) == MEMBERS - MEMBERS // 2
    changes = sum(a[1] != b[1] for a, b in zip(rows, rows[1:], strict=False))
    assert changes == MEMBERS - 1  # every row's NULL columns differ from the row before

    created, ordinary_inserts = await fire(planner, ORDINARY_FIRE)
    assert created == MEMBERS
    # Nothing was sent in between: the Americans' Monday question still holds their
    # conversation, so Tuesday's waits its turn (one question at a time).
    assert await statuses(database, ORDINARY_FIRE.date()) == [
        (f"m{n:04d}", "pending" if n % 2 == 0 else "queued") for n in range(MEMBERS)
    ]
    chunks = math.ceil(MEMBERS / CHUNK)
    assert holiday_inserts <= chunks + 1, (holiday_inserts, changes)
    assert holiday_inserts == ordinary_inserts


async def test_a_fan_out_cut_short_is_finished_by_the_next_tick_once(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = await loaded(database, tmp_path)
    calls = 0

    async def crash_on_second_chunk(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away")
        return await insert_ignoring_duplicates(*args, **kwargs)

    monkeypatch.setattr(planner_module, "insert_ignoring_duplicates", crash_on_second_chunk)
    assert isinstance(planner.clock, ManualClock)
    planner.clock.set(HOLIDAY_FIRE)
    with pytest.raises(ConnectionError):
        await planner.tick()
    async with database.session() as s:
        assert await s.scalar(select(func.count()).select_from(Delivery)) == CHUNK
        cursor = await s.scalar(select(m.CampaignCursor))
        assert cursor is not None
        assert (cursor.runs, cursor.handled_through) == (0, START)

    assert await planner.tick() == MEMBERS - CHUNK
    assert len(await statuses(database, EASTER_MONDAY)) == MEMBERS
    async with database.session() as s:
        cursor = await s.scalar(select(m.CampaignCursor))
        assert cursor is not None
        assert (cursor.runs, cursor.handled_through) == (1, HOLIDAY_FIRE)
    assert await planner.tick() == 0


async def test_rows_that_differ_in_null_columns_share_one_insert(
    database: Database, tmp_path: Path
) -> None:
    await loaded(database, tmp_path)  # the prompts and members the rows point at
    async with database.session() as s:
        member_ids = list((await s.scalars(select(m.Member.id).order_by(m.Member.id))).all())
    rows: list[dict[str, Any]] = []
    for n, member_id in enumerate(member_ids):
        row: dict[str, Any] = {
            "dedupe_key": f"t:{n}",
            "prompt_id": "name-a-barrier",
            "member_id": member_id,
            "scheduled_at": HOLIDAY_FIRE,
            "status": "pending" if n % 2 else "skipped",
            "next_attempt_at": HOLIDAY_FIRE if n % 2 else None,
            "payload": {"n": n} if n % 3 else None,  # None: the column's default ({})
        }
        if n % 5 == 0:
            row["created_at"] = HOLIDAY_FIRE
        rows.append(row)
    with counting_inserts(database) as inserts:
        async with database.session() as s:
            assert await insert_ignoring_duplicates(s, Delivery, rows, "dedupe_key") == len(rows)
    # 4 sets of columns (payload set or not, created_at set or not), each sent as multi-row
    # VALUES pages; the NULLs alternating in next_attempt_at add nothing
    assert inserts[0] <= 4
    async with database.session() as s:
        assert await insert_ignoring_duplicates(s, Delivery, rows[:50], "dedupe_key") == 0
    async with database.session() as s:
        stored = {d.dedupe_key: d for d in (await s.scalars(select(Delivery))).all()}
    assert len(stored) == len(rows)
    assert stored["t:0"].payload == {} and stored["t:0"].next_attempt_at is None
    assert stored["t:0"].created_at == HOLIDAY_FIRE and stored["t:0"].attempts == 0
    assert stored["t:1"].payload == {"n": 1} and stored["t:1"].next_attempt_at == HOLIDAY_FIRE
    assert stored["t:1"].created_at is not None and stored["t:1"].kind == "prompt"
