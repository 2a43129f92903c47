"""Shared fixtures: a database on every backend (SQLite always, PostgreSQL when it can run)."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from adapters.registry import help_prefixes, how_to_type
from bot.storage.database import Database
from tests.harness import ALLIANCE, Harness
from tests.harnesses import discover
from tests.harnesses.matrix import HarnessMaker, harness_factory
from tests.pgserver import PostgresServer, PostgresUnavailable

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "alliance.yaml"
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """One throwaway PostgreSQL server for the whole run.

    Missing PostgreSQL skips its tests locally; CI sets ALLIANCE_BOT_REQUIRE_POSTGRES=1 so a
    missing server fails the run instead of hiding.
    """
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        if os.environ.get("ALLIANCE_BOT_REQUIRE_POSTGRES") == "1":
            raise
        yield None
        pytest.skip(f"PostgreSQL unavailable: {exc}")  # pragma: no cover
        return
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend: the storage contract's one fixture."""
    return store_url(request, tmp_path, str(request.param))


HARNESSES = discover()
HarnessFactory = Callable[..., Awaitable[Harness]]


STORE_HARNESS = "console"
"""The harness the storage contract runs on PostgreSQL too (the others run on SQLite: what
they test is their platform, and the store under them is the same code)."""


def store_url(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    server: PostgresServer | None = request.getfixturevalue("postgres")
    if server is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    return server.create_database(f"t{os.getpid()}_{next(_db_counter)}")


@pytest.fixture(
    params=[
        *(f"{name}/sqlite" for name in sorted(HARNESSES)),
        f"{STORE_HARNESS}/postgresql",
    ]
)
async def make_harness(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[HarnessFactory]:
    """Builds and starts a harness of each adapter; the behavioural suite runs over all, and
    over both databases on the console."""
    made: list[Harness] = []
    name, backend = str(request.param).split("/")
    url = store_url(request, tmp_path, backend)

    async def make(start: datetime, alliance: str = ALLIANCE) -> Harness:
        factory = HARNESSES[name]
        harness: Harness = await factory.create(request, tmp_path, url, start, alliance)
        harness.runtime.service.how_to_type = how_to_type()  # as `run` sets them
        harness.runtime.service.help_prefix = help_prefixes()
        await harness.runtime.start()
        made.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in made:
            await harness.runtime.stop()
            await harness.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    db = Database(db_url)
    await db.upgrade()
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def make_matrix(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[HarnessMaker]:
    """Matrix-only tests: ``await make_matrix(start, alliance, **adapter_options)`` (a real
    Synapse, shared by the run; see tests/harnesses/matrix.py)."""
    async with harness_factory(request, tmp_path) as make:
        yield make
