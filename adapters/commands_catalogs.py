"""``alliance-bot catalogs``: refresh the message catalogs from the code, and say how much of
the bot's sentences each language translates (``bot/catalogs.py``, ``docs/translating.md``)."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.cli import app

catalogs_app = typer.Typer(
    help="The message catalogs: refresh them from the code, check their coverage.",
    no_args_is_help=True,
)
app.add_typer(catalogs_app, name="catalogs")


@catalogs_app.command("update")
def update(
    languages: Annotated[
        list[str] | None,
        typer.Argument(help="Only these languages (a new one gets a new catalog)."),
    ] = None,
) -> None:
    """Extract the bot's sentences and refresh every catalog (new ones untranslated)."""
    from bot import catalogs

    written = catalogs.update(languages or None)
    typer.echo("updated " + ", ".join(str(catalogs.po_path(lang)) for lang in written))
    check()


@catalogs_app.command("check")
def check() -> None:
    """The share of the bot's sentences translated per language (exit 1 below 100 %)."""
    from bot import catalogs

    shares = catalogs.coverage()
    typer.echo(", ".join(str(share) for share in shares))
    if any(share.share < 100.0 for share in shares):
        raise typer.Exit(1)
