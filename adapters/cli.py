"""The ``alliance-bot`` command line: the composition root (settings, database, adapters).

It lives at the edge because it knows every adapter; ``bot/`` knows none. Only typer is imported
up front: each command imports what it uses, and the commands live in ``adapters/commands_*.py``,
imported when they are called (``adapters/lazy.py``), so ``--help`` answers at once. Here: the
root callback (settings, logging) and what every command shares.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from adapters.lazy import LazyGroup
from bot.domain.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from bot.alliance.validate import ValidatedAlliance
    from bot.settings import Settings
    from bot.storage.database import Database

T = TypeVar("T")
log = logging.getLogger("alliance_bot")
DISTRIBUTION = "alliance-bot"

app = typer.Typer(
    cls=LazyGroup,
    help="alliance-bot: scheduled check-ins, shared measurement and digests for an "
    "alliance of organisations, on Slack, Matrix and the console.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
LazyGroup.app = app


@dataclass
class Context:
    settings: Settings
    out: Console
    err: Console

    def database(self) -> Database:
        from bot.storage.database import Database

        return Database(self.settings.effective_database_url)


def example_alliance_path() -> Path:
    """examples/alliance.yaml from a checkout, or the copy shipped inside the wheel."""
    checkout = Path(__file__).resolve().parent.parent / "examples" / "alliance.yaml"
    if checkout.is_file():
        return checkout
    from importlib import resources

    return Path(str(resources.files("adapters") / "examples" / "alliance.yaml"))


def fail(message: str, code: int = 2) -> None:
    from rich.console import Console

    from bot.settings import mask_urls

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print("[red]Error:[/red] ", end="")
    console.print(mask_urls(message), markup=False)
    raise typer.Exit(code)


class MaskingFormatter(logging.Formatter):
    """Every log line, traceback included, with the passwords of URLs masked."""

    def format(self, record: logging.LogRecord) -> str:
        from bot.settings import mask_urls

        return mask_urls(super().format(record))


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one coroutine; a UserError becomes one clear sentence, anything else no traceback."""
    import asyncio

    try:
        return asyncio.run(factory())
    except UserError as exc:
        fail(str(exc))
    except (OSError, ConnectionError) as exc:
        fail(f"I could not reach the database or a file: {exc}.")
    except Exception as exc:
        log.debug("unexpected failure", exc_info=True)
        fail(
            f"Something unexpected went wrong ({type(exc).__name__}: {str(exc)[:300]}). "
            "Run again with --verbose for the details."
        )
    raise AssertionError("unreachable")


async def with_db(
    ctx: Context, work: Callable[[Database], Awaitable[T]], *, upgrade: bool = True
) -> T:
    db = ctx.database()
    try:
        if upgrade:
            await db.upgrade()
        return await work(db)
    finally:
        await db.dispose()


def _version(asked: bool) -> None:
    """``--version``: the installed distribution's version, before any setting is read."""
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version(DISTRIBUTION)
    except PackageNotFoundError:
        found = "unknown (not installed; run it from an installed copy)"
    print(f"{DISTRIBUTION} {found}")
    raise typer.Exit()


@app.callback()
def main_callback(
    typer_ctx: typer.Context,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help="A TOML settings file; environment variables ALLIANCE_BOT_* win over it.",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="Overrides ALLIANCE_BOT_DATABASE_URL for this command."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    from pydantic import ValidationError
    from rich.console import Console

    from adapters.logs import stream_handler  # text, or JSON (ALLIANCE_BOT_LOG_FORMAT=json)
    from adapters.settings import load_settings  # the core's and each platform's sections
    from bot.settings import explain_settings_error

    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    try:
        settings = load_settings(settings_file, **overrides)
    except UserError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(explain_settings_error(exc))
    except ValueError as exc:
        fail(f"The settings are not valid: {exc}")
    handler = stream_handler(settings.log_format)
    logging.basicConfig(level="DEBUG" if verbose else settings.log_level, handlers=[handler])
    for noisy in ("alembic", "apscheduler", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    typer_ctx.obj = Context(
        settings, Console(highlight=False), Console(stderr=True, soft_wrap=True, highlight=False)
    )


def _ctx(typer_ctx: typer.Context) -> Context:
    obj = typer_ctx.obj
    assert isinstance(obj, Context)
    return obj


# --- shared by the commands -------------------------------------------------------------------


def _validated(ctx: Context, file: Path) -> ValidatedAlliance:
    from adapters.registry import id_checks
    from bot.alliance.validate import validate_file

    alliance, problems = validate_file(
        file, max_bytes=ctx.settings.alliance_max_bytes, platforms=id_checks()
    )
    if problems:
        for problem in problems:
            ctx.err.print(str(problem), highlight=False, markup=False)
        noun = "problem" if len(problems) == 1 else "problems"
        fail(f"{file} has {len(problems)} {noun}; nothing was loaded. Fix them and try again.", 1)
    assert alliance is not None
    return alliance


def print_table(
    out: Console, title: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]
) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command("settings")
def show_settings(typer_ctx: typer.Context) -> None:
    """Print the effective settings with secrets masked."""
    ctx = _ctx(typer_ctx)
    import json

    ctx.out.print_json(json.dumps(ctx.settings.redacted()))


def main() -> None:
    app()
