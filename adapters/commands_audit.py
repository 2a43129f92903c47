"""``alliance-bot audit``: the audit log from the command line, for whoever runs the bot."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.cli import _ctx, app, print_table, run_async, with_db
from bot.audit import Page, latest
from bot.storage.database import Database

MOST = 10_000


@app.command("audit")
def audit(
    typer_ctx: typer.Context,
    count: Annotated[
        int,
        typer.Argument(min=1, max=MOST, help=f"How many of the newest entries (up to {MOST})."),
    ] = 20,
    action: Annotated[
        str | None,
        typer.Option(help="Only this action or object kind, e.g. pause, star, delete, campaign."),
    ] = None,
) -> None:
    """Who did what, when, on which object: staff and admin actions, loads and deletions."""
    ctx = _ctx(typer_ctx)

    async def read(db: Database) -> Page:
        async with db.session() as s:
            return await latest(s, count, action.lower() if action else None)

    page = run_async(lambda: with_db(ctx, read))
    rows = [
        (
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M UTC"),
            e.actor,
            e.action,
            e.object_kind + (f" {e.object_id}" if e.object_id else ""),
            ", ".join(f"{k}: {v}" for k, v in e.detail.items()),
        )
        for e in page.entries
    ]
    which = f" “{action}”" if action else ""
    print_table(
        ctx.out,
        f"Audit log: the latest {len(rows)} of {page.total}{which} entries, newest first",
        ("id", "when", "actor", "action", "object", "detail"),
        rows,
    )
