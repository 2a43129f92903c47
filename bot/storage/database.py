"""The database handle: one async engine, sessions, and schema migrations through Alembic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bot.domain.errors import UserError
from bot.storage.outage import Outage

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def normalize_url(url: str) -> str:
    """Accept ``sqlite:///x`` and ``postgresql://`` too, and pick the async driver for them."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise UserError(
            f"The database URL is not one I can read ({exc}). Use "
            "sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db."
        ) from None
    driver = _DRIVERS.get(parsed.drivername, parsed.drivername)
    if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise UserError(
            f"The database “{parsed.drivername}” is not supported; use SQLite "
            "(sqlite+aiosqlite:///file.db) or PostgreSQL (postgresql+asyncpg://...)."
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted answers are zeroed, not left in the file
    cursor.close()


class Database:
    """Owns the engine; ``session()`` gives a unit of work, ``upgrade()`` the schema."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            else:
                kwargs["poolclass"] = NullPool
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.outage = Outage(self._ping)
        """Whether the database can be reached; see ``bot.storage.outage``."""

    async def _ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.outage.close()
        await self.engine.dispose()

    def describe(self) -> str:
        """The URL without its password, fit for logs and messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    # --- migrations -------------------------------------------------------------------------

    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("bot.storage") / "migrations"))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    async def upgrade(self, revision: str = "head") -> None:
        await self._run(lambda cfg: command.upgrade(cfg, revision))

    async def downgrade(self, revision: str) -> None:
        await self._run(lambda cfg: command.downgrade(cfg, revision))

    async def _run(self, action: Any) -> None:
        cfg = self._alembic_config()

        def run(connection: Connection) -> None:
            cfg.attributes["connection"] = connection
            action(cfg)

        async with self.engine.begin() as conn:
            await conn.run_sync(run)

    async def current_revision(self) -> str | None:
        def read(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async with self.engine.connect() as conn:
            return await conn.run_sync(read)

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    async def is_current(self) -> bool:
        return await self.current_revision() == self.head_revision()
