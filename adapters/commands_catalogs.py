"""``alliance-bot catalogs``: refresh the message catalogs from the code, and say how much of
the sentences each language translates: the core's (``bot/locales``) and the adapters' own
(``adapters/locales``). See ``bot/catalogs.py`` and ``docs/translating.md``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli import app

if TYPE_CHECKING:
    from bot.catalogs import Domain

catalogs_app = typer.Typer(
    help="The message catalogs: refresh them from the code, check their coverage.",
    no_args_is_help=True,
)
app.add_typer(catalogs_app, name="catalogs")


def domains() -> list[Domain]:
    """The core's sentences, and the adapters' own."""
    from adapters.i18n import ROOT
    from bot.catalogs import CORE, Domain

    return [CORE, Domain("adapters", ("adapters",), ROOT)]


@catalogs_app.command("update")
def update(
    languages: Annotated[
        list[str] | None,
        typer.Argument(help="Only these languages (a new one gets a new catalog)."),
    ] = None,
) -> None:
    """Extract the sentences and refresh every catalog (new ones untranslated)."""
    from bot import catalogs

    if catalogs.main(["update", *(languages or [])], domains()):
        raise typer.Exit(1)


@catalogs_app.command("check")
def check() -> None:
    """The share of the sentences translated per language (exit 1 below 100 %)."""
    from bot import catalogs

    if catalogs.main(["check"], domains()):
        raise typer.Exit(1)
