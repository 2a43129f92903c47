"""``alliance-bot alliance`` and ``alliance-bot prompts``: the alliance file and the prompt
library."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from adapters.cli import _ctx, _validated, app, fail, print_table, run_async, with_db

alliance_app = typer.Typer(
    help="The alliance file: check it, load it, show what is loaded.", no_args_is_help=True
)
prompts_app = typer.Typer(help="The prompt library.", no_args_is_help=True)
app.add_typer(alliance_app, name="alliance")
app.add_typer(prompts_app, name="prompts")


@alliance_app.command("validate")
def alliance_validate(
    typer_ctx: typer.Context, file: Annotated[Path, typer.Argument(help="The alliance YAML file.")]
) -> None:
    """Check an alliance file and report every problem with its line and how to fix it."""
    ctx = _ctx(typer_ctx)
    alliance = _validated(ctx, file)
    ctx.out.print(
        f"{file} is valid: {len(alliance.organisations)} organisations, "
        f"{len(alliance.members)} members, {len(alliance.measures)} measures, "
        f"{len(alliance.campaigns)} campaigns."
    )
    _unset_secrets(ctx.err, alliance.webhooks)


def _unset_secrets(err: Any, webhooks: Sequence[Any]) -> None:
    """A webhook whose secret variable is not set here would be disabled at its first event:
    said now, while the admin is at the file (the bot may run with another environment)."""
    for hook in webhooks:
        if not os.environ.get(hook.secret_env):
            err.print(
                f"Note: webhook “{hook.key}” signs with ${hook.secret_env}, which is not set "
                "here. Set it where the bot runs, or the webhook is disabled at its first event.",
                markup=False,
            )


@alliance_app.command("load")
def alliance_load(
    typer_ctx: typer.Context, file: Annotated[Path, typer.Argument(help="The alliance YAML file.")]
) -> None:
    """Apply an alliance file in one transaction; safe to run again (it never duplicates)."""
    from bot.alliance.apply import load_alliance

    ctx = _ctx(typer_ctx)
    alliance = _validated(ctx, file)
    source = file.read_bytes()
    report = run_async(
        lambda: with_db(ctx, lambda db: load_alliance(db, alliance, source, actor="cli"))
    )
    ctx.out.print(f"Loaded {file} into {ctx.database().describe()}.")
    _unset_secrets(ctx.err, alliance.webhooks)
    for line in report.lines():
        ctx.out.print(line)


@alliance_app.command("show")
def alliance_show(typer_ctx: typer.Context) -> None:
    """Print the loaded alliance: organisations, members, measures and campaigns as tables."""
    from bot.alliance.overview import overview

    ctx = _ctx(typer_ctx)
    view = run_async(lambda: with_db(ctx, overview))
    if view is None:
        fail("No alliance is loaded yet. Load one with: alliance-bot alliance load FILE", 1)
    assert view is not None
    ctx.out.print(f"[bold]{view.alliance}[/bold]")
    print_table(
        ctx.out,
        "Organisations",
        ("slug", "name", "kind", "country", "time zone", "members", "active"),
        view.organisations,
    )
    print_table(
        ctx.out,
        "Members",
        (
            "id",
            "name",
            "organisation",
            "role",
            "time zone",
            "locale",
            "reports",
            "platforms",
            "active",
        ),
        view.members,
    )
    print_table(
        ctx.out,
        "Measures",
        ("key", "name", "unit", "aggregation", "period", "target", "org targets"),
        view.measures,
    )
    print_table(
        ctx.out,
        "Campaigns",
        (
            "key",
            "name",
            "schedule",
            "time zone",
            "audience",
            "to",
            "prompts",
            "reminders",
            "status",
        ),
        view.campaigns,
    )


# --- prompts -----------------------------------------------------------------------------------


@prompts_app.command("lint")
def prompts_lint(
    typer_ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Lint another prompt folder instead of the shipped one."),
    ] = None,
) -> None:
    """Validate the prompt library: schema, languages, placeholders and coverage."""
    from bot.library import coverage_problems, library_summary, load_library

    ctx = _ctx(typer_ctx)
    if directory is not None and not directory.is_dir():
        fail(f"{directory} is not a folder.")
    library, problems = load_library(directory)
    problems += coverage_problems(library)
    for problem in problems:
        ctx.err.print(str(problem), highlight=False, markup=False)
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in library_summary(library).items())
    if problems:
        fail(f"{len(problems)} problem(s) in the prompt library.", 1)
    ctx.out.print(f"{len(library)} prompts, all valid. Exercises by condition: {counts}.")


@prompts_app.command("list")
def prompts_list(
    typer_ctx: typer.Context, lang: Annotated[str, typer.Option(help="Language to show.")] = "en"
) -> None:
    """List the prompt library in one language."""
    from bot.library import load_library

    ctx = _ctx(typer_ctx)
    library, _ = load_library()
    rows = [
        (p.id, p.kind.value, p.answer.value, p.conditions[0].value, p.text_for(lang))
        for p in library.prompts.values()
    ]
    print_table(
        ctx.out, f"Prompt library ({lang})", ("id", "kind", "answer", "condition", "text"), rows
    )
