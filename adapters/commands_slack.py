"""``alliance-bot slack``: installations across workspaces, from the command line."""

from __future__ import annotations

import typer

from adapters.cli import Context, _ctx, app, fail, run_async, with_db
from adapters.slack import settings as slack_settings
from adapters.slack.settings import SlackSettings
from bot.storage.database import Database

slack_app = typer.Typer(
    help="Slack across workspaces: which organisations installed the app, and its token keys.",
    no_args_is_help=True,
)
app.add_typer(slack_app, name="slack")


def _slack(ctx: Context) -> SlackSettings:
    return slack_settings.of(ctx.settings)


def _oauth_ready(ctx: Context) -> None:
    if not _slack(ctx).across_workspaces:
        fail(
            "Slack is not installed workspace by workspace here: set "
            "ALLIANCE_BOT_SLACK__CLIENT_ID (and its secret and token keys) first."
        )
    from bot.domain.errors import UserError

    try:
        _slack(ctx).check_oauth()
    except UserError as exc:
        fail(str(exc))


async def rotate_keys(db: Database, keys: list[str]) -> int:
    """Reseal every stored Slack installation with the first key; how many were resealed."""
    from adapters.slack.installs import Sealer
    from adapters.slack.translate import PLATFORM
    from bot.clock import SystemClock
    from bot.reach import Installations

    return await Installations(db, SystemClock()).reseal(PLATFORM, Sealer(keys).reseal)


@slack_app.command("installs")
def installs(typer_ctx: typer.Context) -> None:
    """Which organisations have installed the app, since when, and the links for the others."""
    from bot.reach import installs_text

    ctx = _ctx(typer_ctx)

    async def read(db: Database) -> str:
        async with db.session() as s:
            return await installs_text(s)

    ctx.out.print(run_async(lambda: with_db(ctx, read)), markup=False, highlight=False)


@slack_app.command("rotate-keys")
def rotate(typer_ctx: typer.Context) -> None:
    """Re-encrypt every stored token with the first key of ALLIANCE_BOT_SLACK__TOKEN_KEYS."""
    ctx = _ctx(typer_ctx)
    _oauth_ready(ctx)
    keys = _slack(ctx).fernet_keys()
    count = run_async(lambda: with_db(ctx, lambda db: rotate_keys(db, keys)))
    ctx.out.print(
        f"Re-encrypted {count} Slack installation(s) with the first key; the other keys can "
        "be removed from ALLIANCE_BOT_SLACK__TOKEN_KEYS once every worker runs with it first."
    )


@slack_app.command("new-key")
def new_key() -> None:
    """Print a new token encryption key (put it first in ALLIANCE_BOT_SLACK__TOKEN_KEYS)."""
    from adapters.slack.installs import Sealer

    print(Sealer.new_key())
