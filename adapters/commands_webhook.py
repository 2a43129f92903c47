"""``alliance-bot webhook``: endpoints that get signed events (add, list, enable, disable,
test, rotate-secret, remove). A secret is printed once, when it is made. Every change is
audited (``alliance-bot audit``); a running bot sees it at its next look at the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.cli import _ctx, app, print_table, run_async, with_db
from bot.api.tokens import Role
from bot.storage.database import Database
from bot.webhooks import endpoints
from bot.webhooks.courier import host_of
from bot.webhooks.rules import DISABLE_AFTER, EVENTS

webhook_app = typer.Typer(
    help="Webhooks: signed events for the alliance's own systems.", no_args_is_help=True
)
app.add_typer(webhook_app, name="webhook")
T = TypeVar("T")


def _in_session(typer_ctx: typer.Context, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    ctx = _ctx(typer_ctx)

    async def run(db: Database) -> T:
        async with db.session() as s:
            return await work(s)

    return run_async(lambda: with_db(ctx, run))


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


@webhook_app.command("add")
def add(
    typer_ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="A short name, e.g. dashboard.")],
    url: Annotated[str, typer.Argument(help="Where to POST: https://… (http only to localhost).")],
    role: Annotated[
        Role,
        typer.Option(help="reader: shared check-ins only, never who answered; staff: all."),
    ] = Role.READER,
    event: Annotated[
        list[str] | None,
        typer.Option(help=f"An event to send (repeat it); all when none: {', '.join(EVENTS)}."),
    ] = None,
    disable_after: Annotated[
        int, typer.Option(help="Failed requests in a row before it is disabled.")
    ] = DISABLE_AFTER,
) -> None:
    """Add an endpoint and print its signing secret once."""
    now = datetime.now(UTC)
    hook, secret = _in_session(
        typer_ctx,
        lambda s: endpoints.add(
            s, key, url, role=role, events=event or (), disable_after=disable_after, at=now
        ),
    )
    ctx = _ctx(typer_ctx)
    ctx.err.print(
        f"Webhook “{hook.key}” ({hook.role}) sends {', '.join(hook.events)} to "
        f"{host_of(hook.url)}. Its signing secret is shown this once; give it to the receiver "
        "(docs/webhooks.md says how to check a signature).",
        markup=False,
    )
    print(secret)


@webhook_app.command("list")
def list_hooks(typer_ctx: typer.Context) -> None:
    """Every endpoint: state, failures in a row, events waiting, held and sent."""
    rows = _in_session(typer_ctx, endpoints.listed)
    print_table(
        _ctx(typer_ctx).out,
        f"Webhooks: {len(rows)}",
        ("key", "where", "role", "state", "failures", "waiting", "held", "sent", "last ok"),
        [
            (
                r.hook.key,
                host_of(r.hook.url),
                r.hook.role,
                "on" if r.hook.active else f"disabled: {r.hook.disabled_reason or ''}",
                str(r.hook.failures),
                str(r.waiting),
                str(r.held),
                str(r.sent),
                _when(r.hook.last_success_at),
            )
            for r in rows
        ],
    )


@webhook_app.command("enable")
def enable(typer_ctx: typer.Context, key: str) -> None:
    """Back in service: the events held while it was disabled are sent now."""
    now = datetime.now(UTC)
    held = _in_session(typer_ctx, lambda s: endpoints.enable(s, key, at=now))
    _ctx(typer_ctx).out.print(
        f"Webhook “{key}” is on; {held} held events are sent now.", markup=False
    )


@webhook_app.command("disable")
def disable(typer_ctx: typer.Context, key: str) -> None:
    """Out of service: events are kept (held) until it is enabled."""
    now = datetime.now(UTC)
    _in_session(typer_ctx, lambda s: endpoints.disable(s, key, at=now))
    _ctx(typer_ctx).out.print(
        f"Webhook “{key}” is disabled; its events are kept until “webhook enable {key}”.",
        markup=False,
    )


@webhook_app.command("test")
def test(typer_ctx: typer.Context, key: str) -> None:
    """Send a ``ping`` event through the outbox (the running bot sends it)."""
    now = datetime.now(UTC)
    _in_session(typer_ctx, lambda s: endpoints.ping(s, key, at=now))
    _ctx(typer_ctx).out.print(
        f"A ping to “{key}” is in the outbox; “webhook list” shows when it was sent.",
        markup=False,
    )


@webhook_app.command("rotate-secret")
def rotate_secret(typer_ctx: typer.Context, key: str) -> None:
    """A new signing secret, printed once; the old one stops working now."""
    now = datetime.now(UTC)
    secret = _in_session(typer_ctx, lambda s: endpoints.rotate(s, key, at=now))
    _ctx(typer_ctx).err.print(
        f"Webhook “{key}” has a new secret; the old one no longer signs.", markup=False
    )
    print(secret)


@webhook_app.command("remove")
def remove(typer_ctx: typer.Context, key: str) -> None:
    """Remove an endpoint; the events still waiting for it are dropped."""
    now = datetime.now(UTC)
    _in_session(typer_ctx, lambda s: endpoints.remove(s, key, at=now))
    _ctx(typer_ctx).out.print(f"Webhook “{key}” is removed.", markup=False)
