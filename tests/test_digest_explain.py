"""A digest reads the period it is about, not all of history: on PostgreSQL, with 60 weeks of
generated history and fresh statistics, every statement of one ``compute_digest`` reads the
outbox (deliveries) and the check-ins by an index range, never by a sequential scan nor by a
walk along a whole index.

Each statement is captured as the driver runs it (``before_cursor_execute``), then planned
again with ``EXPLAIN (FORMAT JSON)`` and the same parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event

from bench.digest_data import Shape
from bot.digest.build import staff_digest
from bot.digest.chartcache import ChartCache
from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from bot.storage.database import Database
from tests.history import generate
from tests.pgserver import PostgresServer

HISTORY = ("deliveries", "checkins")
LAST = Period.parse_key("2026-W49")  # holds 1 December: the monthly figures go out in it
SHAPE = Shape(organisations=20, per_org=100, weeks=60, last=LAST)  # 121k deliveries
pytestmark = pytest.mark.asyncio(loop_scope="module")  # one generated database for the module


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def history(postgres: PostgresServer | None) -> AsyncIterator[Database]:
    if postgres is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    db = Database(postgres.create_database("digest_explain"))
    await db.upgrade()
    await generate(db, SHAPE)
    try:
        yield db
    finally:
        await db.dispose()


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def bounded(index_scan: dict[str, Any]) -> bool:
    """An index read with a range: ``id IS NOT NULL`` alone is min(id) walking the whole key."""
    condition = str(index_scan.get("Index Cond", ""))
    return bool(condition) and not NOT_NULL.fullmatch(condition)


NOT_NULL = re.compile(r"\(*\w+ IS NOT NULL\)*")


def unbounded(plan: dict[str, Any]) -> list[str]:
    """Each read of deliveries or check-ins that is not by an index range."""
    found = []
    for node in nodes(plan):
        relation = node.get("Relation Name")
        kind = node["Node Type"]
        if relation not in HISTORY:
            continue
        scans = node.get("Plans", []) if kind == "Bitmap Heap Scan" else [node]
        if kind == "Seq Scan":
            found.append(f"Seq Scan on {relation}")
        elif not all(bounded(scan) for scan in scans):
            found.append(f"{kind} on {relation} along all of an index")
    return found


async def statements(db: Database, organisation: str | None) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as s:
            digest = await compute_digest(s, LAST, organisation)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert digest.responses and digest.measures, "the generated history shows in the digest"
    return seen


@pytest.mark.parametrize("organisation", [None, "org-007"])
async def test_every_digest_statement_reads_history_by_index_range(
    history: Database, organisation: str | None
) -> None:
    captured = await statements(history, organisation)
    touching = [(st, p) for st, p in captured if any(t in st for t in HISTORY)]
    assert len(touching) >= 8, "rates, pending, highlights, figures, history, on-time"
    problems = []
    async with history.engine.connect() as conn:
        for statement, params in touching:
            rows = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)).all()
            plan = rows[0][0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            for found in unbounded(plan[0]["Plan"]):
                problems.append(f"{found}: {' '.join(statement.split())[:160]}")
    assert problems == []


async def test_the_chart_is_drawn_once_per_period_and_measure_set(
    history: Database, tmp_path: Path
) -> None:
    """Asked again, after a restart (a new cache on the same folder) or by another worker on
    the machine, the same chart comes from the data dir; another period draws its own."""
    folder = tmp_path / "charts"
    first, restarted = ChartCache(folder), ChartCache(folder)
    async with history.session() as s:
        one = await staff_digest(s, LAST, charts=first)
        again = await staff_digest(s, LAST, charts=first)
        after_restart = await staff_digest(s, LAST, charts=restarted)
        other = await staff_digest(s, LAST.previous().previous().previous(), charts=restarted)
    png = one.attachments[0].content
    assert png.startswith(b"\x89PNG")
    assert again.attachments[0].content == after_restart.attachments[0].content == png
    assert (first.drawn, restarted.drawn) == (1, 1)
    assert other.attachments[0].content != png
    assert len(list(folder.glob("*.png"))) == 2
