"""``alliance-bot run`` and ``demo``: start the bot on what the settings configure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from adapters.base import Adapter
from adapters.cli import _ctx, _validated, app, example_alliance_path, fail, run_async
from adapters.console.app import ConsoleApp, stdin_lines
from adapters.console.port import ConsolePort
from adapters.health import Stoppable, serve_http
from adapters.platforms import configured
from adapters.registry import (
    help_prefixes,
    how_to_type,
    id_checks,
    in_build_order,
    platforms,
)
from adapters.webhooks import HttpPoster
from bot.alliance.apply import load_alliance
from bot.alliance.validate import ValidatedAlliance, validate_file
from bot.api import ReadApi
from bot.clock import ManualClock, SystemClock
from bot.domain.errors import UserError
from bot.ports import ChatPort, Clock, Rejected
from bot.runtime import Runtime
from bot.settings import HttpSettings, Settings
from bot.storage import models as m
from bot.storage.database import Database

log = logging.getLogger(__name__)
DEMO_PROMPTS = ["name-a-barrier", "comms-feel-informed", "measure-digital-skills-sessions"]


class Printer:
    """Terminal output that never reads member text as markup."""

    def __init__(self) -> None:
        self.console = Console(highlight=False, soft_wrap=True)

    def print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)


def printer() -> Printer:
    return Printer()


async def serve(
    runtime: Runtime,
    console: ConsoleApp | None,
    *,
    speed: float | None = None,
    adapters: Sequence[Adapter] = (),
    http: HttpSettings | None = None,
) -> None:
    """Run until Ctrl-C, SIGTERM or the end of console input; then flush and stop. ``http``:
    where /healthz, /readyz, /metrics and the read-only API (/api/v1/) are served
    (adapters/health.py), from the start."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    started: list[Adapter] = []
    endpoints: Stoppable | None = None
    try:
        if http is not None:
            api = ReadApi(runtime.db, runtime.clock)
            endpoints = await serve_http(runtime, adapters, http, api)
        # In order: the core (nothing sent yet), the adapters (ready to send), then sending.
        await runtime.start(sending=False)
        if speed is not None and isinstance(runtime.clock, ManualClock):
            runtime.fast_forward(runtime.clock, speed)
        for adapter in adapters:
            try:
                await adapter.start(runtime)
            except (Rejected, UserError) as exc:  # one part's configuration: the rest runs
                log.error("%s could not start: %s", adapter.name.capitalize(), exc)
                continue
            started.append(adapter)
        if adapters and not started and console is None:
            raise UserError("No platform could start; see the messages above.")
        runtime.start_sending()
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
        if console is not None:
            waiters.append(asyncio.ensure_future(console.run(stdin_lines())))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        # Let the console finish what it was doing before the database closes under it.
        await asyncio.gather(*waiters, return_exceptions=True)
    finally:
        # Stop receiving, send what is due (the rest stays in the outbox), close transports.
        for adapter in reversed(started):
            await adapter.stop_receiving()
        await runtime.stop()
        for adapter in reversed(started):
            await adapter.close()
        if endpoints is not None:
            await endpoints.stop()


def build_ports(
    settings: Settings, clock: Clock, out: Printer
) -> tuple[dict[str, ChatPort], list[Adapter]]:
    """Every platform of the registry its settings configure; the console (the fallback) when
    asked for, or when nothing else is configured. Platform libraries are imported only when
    configured."""
    ports: dict[str, ChatPort] = {}
    adapters: list[Adapter] = []
    for platform in in_build_order(platforms()):
        wanted = platform.configured(settings)
        if wanted is None and platform.fallback:
            wanted = not ports
        if not wanted:
            continue
        built = platform.build(settings, clock, out.print)
        ports[platform.name] = built.port
        if built.adapter is not None:
            adapters.append(built.adapter)
    return ports, adapters


@app.command("run")
def run(typer_ctx: typer.Context) -> None:
    """Start the bot with the adapters the settings configure (the console when none is)."""
    ctx = _ctx(typer_ctx)
    settings = ctx.settings
    clock = SystemClock()
    out = printer()
    ports, adapters = configured(settings, lambda: build_ports(settings, clock, out))
    runtime = Runtime(
        settings.effective_database_url,
        clock,
        ports,
        alliance_file=settings.alliance_file,
        charts_dir=settings.data_dir / "charts",
        webhooks=HttpPoster(),
    )
    runtime.alliance_max_bytes = settings.alliance_max_bytes
    runtime.platforms = id_checks()
    runtime.service.how_to_type = how_to_type()
    runtime.service.help_prefix = help_prefixes()
    runtime.purger.copies_keep = timedelta(days=settings.copies_keep_days)
    port = ports.get("console")
    console = ConsoleApp(runtime, port, out.print) if isinstance(port, ConsolePort) else None
    run_async(lambda: serve(runtime, console, adapters=adapters, http=settings.http))


async def prepare_demo(url: str, file: Path, now: datetime, audience: list[str] | None) -> None:
    """A fresh database with the example alliance and a campaign that fires every minute."""
    alliance = _validated_quiet(file)
    text = await asyncio.to_thread(file.read_text, "utf-8")
    db = Database(url)
    try:
        await db.upgrade()
        await load_alliance(db, alliance, text, actor="demo", at=now)
        async with db.session() as s:
            members = audience or _demo_audience(alliance)
            s.add(
                m.Campaign(
                    key="demo",
                    name="Demo: the whole cycle in a few minutes",
                    names={
                        "fr": "Démo\u00a0: tout le cycle en quelques minutes",
                        "es": "Demo: todo el ciclo en pocos minutos",
                    },
                    description="Added by `alliance-bot demo`.",
                    prompt_ids=DEMO_PROMPTS,
                    prompt_order="sequence",
                    audience={"members": members},
                    channel_keys=[],
                    direct=True,
                    schedule="* * * * *",
                    timezone="UTC",
                    reminder_after_minutes=2,
                    reminder_max=1,
                    catch_up_minutes=10,
                    skip_holidays=False,
                    measure_period="previous",
                    paused=False,
                    active=True,
                    updated_at=now,
                )
            )
    finally:
        await db.dispose()


def _validated_quiet(file: Path) -> ValidatedAlliance:
    alliance, problems = validate_file(file)
    if alliance is None:
        raise typer.BadParameter(f"{file}: {problems[0]}")
    return alliance


def _demo_audience(alliance: ValidatedAlliance) -> list[str]:
    members = alliance.members
    admins = [x.id for x in members if x.role.value == "admin" and x.active]
    reporters = [x.id for x in members if x.reporting and x.active][:2]
    return admins[:1] + reporters


def demo_database(settings: Settings) -> Path:
    """The demo's own SQLite file, emptied at each start. A configured database is never
    touched; one that is this very file is refused."""
    demo_db = settings.data_dir / "demo.db"
    if settings.database_url:
        try:
            parsed = make_url(settings.database_url)
            same = parsed.get_backend_name() == "sqlite" and bool(parsed.database)
            same = same and Path(str(parsed.database)).resolve() == demo_db.resolve()
        except Exception:  # not a URL at all: certainly not the demo's file
            same = False
        if same:
            fail(
                f"The configured database is the demo's own file {demo_db}, which the demo "
                "empties at start; point ALLIANCE_BOT_DATABASE_URL at another file."
            )
        log.info("The demo uses its own database %s; the configured one is left as it is", demo_db)
    return demo_db


@app.command("demo")
def demo(
    typer_ctx: typer.Context,
    alliance_file: Annotated[
        Path | None,
        typer.Option("--alliance", help="Alliance file (default: the shipped example)."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Run the clock this many times faster (3600: an hour a second).")
    ] = 1.0,
    manual_clock: Annotated[
        bool, typer.Option("--manual-clock", help="Time moves only when you type “advance 1h”.")
    ] = False,
    start: Annotated[
        datetime | None, typer.Option(help="Start the clock here (UTC), e.g. 2026-11-23T08:59:00.")
    ] = None,
    me: Annotated[str, typer.Option("--as", help="Start as this member.")] = "",
) -> None:
    """The embedded default with the example alliance: prompts arrive within the first minute."""
    ctx = _ctx(typer_ctx)
    file = alliance_file or example_alliance_path()
    _validated(ctx, file)
    begin = (
        start.replace(tzinfo=UTC) if start and start.tzinfo is None else start
    ) or datetime.now(UTC)
    clock: Clock = ManualClock(begin) if manual_clock or speed != 1.0 or start else SystemClock()
    demo_db = demo_database(ctx.settings)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{demo_db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{demo_db}"
    run_async(lambda: prepare_demo(url, file, clock.now(), None))
    out = printer()
    port = ConsolePort(clock, echo=out.print, files_dir=ctx.settings.data_dir / "files")
    real_time = isinstance(clock, SystemClock)
    runtime = Runtime(url, clock, {"console": port}, real_time=real_time, webhooks=HttpPoster())
    console = ConsoleApp(runtime, port, out.print, me=me, speed=speed)
    out.print(
        f"Demo alliance loaded into {demo_db}. A demo campaign sends a prompt every minute "
        "for three minutes; reminders follow after two."
    )

    run_async(lambda: serve(runtime, console, speed=None if manual_clock else speed))
