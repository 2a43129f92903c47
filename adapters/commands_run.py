"""``alliance-bot demo`` and ``run``: start the bot on what the settings configure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adapters.cli import _ctx, _validated, alliance_show, app, example_alliance_path, run_async
from bot.alliance.apply import load_alliance
from bot.storage.database import Database


@app.command("demo")
def demo(
    typer_ctx: typer.Context,
    alliance_file: Annotated[
        Path | None,
        typer.Option("--alliance", help="Alliance file to load (default: the shipped example)."),
    ] = None,
) -> None:
    """Set up the embedded default (SQLite) with the example alliance and show it."""
    ctx = _ctx(typer_ctx)
    file = alliance_file or example_alliance_path()
    alliance = _validated(ctx, file)
    text = file.read_text(encoding="utf-8")

    async def work() -> list[str]:
        db = Database(ctx.settings.effective_database_url)
        try:
            await db.upgrade()
            report = await load_alliance(db, alliance, text)
            return report.lines()
        finally:
            await db.dispose()

    for line in run_async(work):
        ctx.out.print(line)
    alliance_show(typer_ctx)
