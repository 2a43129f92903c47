"""``alliance-bot api``: the read-only HTTP API's tokens (create, list, revoke).

A token is printed once, when it is made; the database keeps only its SHA-256. Making and
revoking a token are audited (``alliance-bot audit api-token``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from adapters.cli import _ctx, app, print_table, run_async, with_db
from bot.api import tokens
from bot.storage.database import Database
from bot.storage.records import ApiToken

api_app = typer.Typer(help="The read-only HTTP API: its tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Tokens for the read-only HTTP API.", no_args_is_help=True)
api_app.add_typer(token_app, name="token")
app.add_typer(api_app, name="api")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@token_app.command("create")
def create(
    typer_ctx: typer.Context,
    role: Annotated[
        tokens.Role,
        typer.Option(help="staff: every check-in, with who answered; reader: shared ones only."),
    ],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. “dashboard”.")],
) -> None:
    """Make a token and print it once: only its SHA-256 is kept."""
    ctx = _ctx(typer_ctx)

    async def work(db: Database) -> tuple[ApiToken, str]:
        async with db.session() as s:
            return await tokens.create(s, name, role, at=datetime.now(UTC))

    row, token = run_async(lambda: with_db(ctx, work))
    ctx.err.print(
        f"Token {row.id} “{row.name}” ({row.role}) made. It is shown this once; keep it "
        "somewhere safe. Send it as 'Authorization: Bearer <token>'.",
        markup=False,
    )
    print(token)


@token_app.command("list")
def list_tokens(typer_ctx: typer.Context) -> None:
    """Every token with its role and when it was last used (never the token)."""
    ctx = _ctx(typer_ctx)

    async def work(db: Database) -> list[ApiToken]:
        async with db.session() as s:
            return await tokens.listed(s)

    rows = run_async(lambda: with_db(ctx, work))
    print_table(
        ctx.out,
        f"API tokens: {len(rows)}",
        ("id", "name", "role", "starts with", "created", "last used", "revoked"),
        [
            (
                str(r.id),
                r.name,
                r.role,
                r.prefix + "…",
                _when(r.created_at),
                _when(r.last_used_at),
                _when(r.revoked_at) if r.revoked_at else "",
            )
            for r in rows
        ],
    )


@token_app.command("revoke")
def revoke(
    typer_ctx: typer.Context,
    which: Annotated[str, typer.Argument(help="The token's id, or the name of one in use.")],
) -> None:
    """Revoke a token at once: requests with it are refused (401) from now on."""
    ctx = _ctx(typer_ctx)

    async def work(db: Database) -> ApiToken:
        async with db.session() as s:
            return await tokens.revoke(s, which, at=datetime.now(UTC))

    row = run_async(lambda: with_db(ctx, work))
    ctx.out.print(
        f"Token {row.id} “{row.name}” is revoked (since {_when(row.revoked_at)}).", markup=False
    )
