"""``alliance-bot db``: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.cli import _ctx, app, run_async

db_app = typer.Typer(help="The database schema: create and upgrade it.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    typer_ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create the schema or bring it up to date (run also does this on start)."""
    ctx = _ctx(typer_ctx)

    async def work() -> str | None:
        db = ctx.database()
        try:
            await db.upgrade(revision)
            return await db.current_revision()
        finally:
            await db.dispose()

    current = run_async(work)
    ctx.out.print(f"Database {ctx.database().describe()} is at revision {current}.")


@db_app.command("downgrade")
def db_downgrade(
    typer_ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision, or base to empty it.")],
) -> None:
    """Step the schema back (base removes every table: a destructive step)."""
    ctx = _ctx(typer_ctx)

    async def work() -> str | None:
        db = ctx.database()
        try:
            await db.downgrade(revision)
            return await db.current_revision()
        finally:
            await db.dispose()

    ctx.out.print(f"Database is at revision {run_async(work) or 'base (empty)'}.")


@db_app.command("current")
def db_current(typer_ctx: typer.Context) -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    ctx = _ctx(typer_ctx)

    async def work() -> str | None:
        db = ctx.database()
        try:
            return await db.current_revision()
        finally:
            await db.dispose()

    db = ctx.database()
    ctx.out.print(
        f"{db.describe()}: revision {run_async(work) or 'none (empty)'}; "
        f"newest known: {db.head_revision()}."
    )
