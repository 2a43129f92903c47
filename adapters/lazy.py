"""Commands whose modules are imported only when they are called.

``run``, ``demo`` and ``audit`` pull in the runtime, SQLAlchemy, matplotlib and the platform
libraries: a second or more of imports that ``alliance-bot --help`` or ``alliance load`` have no
use for. ``db``, ``alliance`` and ``prompts`` are light, and live in modules of their own only to
keep ``adapters/cli.py`` to what every command shares. The top-level help lists them from
``LAZY`` (name, module, one-line help); the module is imported, and registers its command on the
app, only when the command is called or asked for its own ``--help``. A test checks that each
line here is its command's own first line of help.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

LAZY: dict[str, tuple[str, str]] = {
    "db": ("adapters.commands_db", "The database schema: create and upgrade it."),
    "alliance": (
        "adapters.commands_alliance",
        "The alliance file: check it, load it, show what is loaded.",
    ),
    "prompts": ("adapters.commands_alliance", "The prompt library."),
    "run": (
        "adapters.commands_run",
        "Start the bot with the adapters the settings configure (the console when none is).",
    ),
    "demo": (
        "adapters.commands_run",
        "The embedded default with the example alliance: prompts arrive within the first minute.",
    ),
    "audit": (
        "adapters.commands_audit",
        "Who did what, when, on which object: staff and admin actions, loads and deletions.",
    ),
    "catalogs": (
        "adapters.commands_catalogs",
        "The message catalogs: refresh them from the code, check their coverage.",
    ),
    "api": ("adapters.commands_api", "The read-only HTTP API: its tokens."),
    "webhook": (
        "adapters.commands_webhook",
        "Webhooks: signed events for the alliance's own systems.",
    ),
    "slack": (
        "adapters.commands_slack",
        "Slack across workspaces: which organisations installed the app, and its token keys.",
    ),
}


class _Placeholder(TyperCommand):
    """Stands in for a lazy command in listings; never invoked."""


class LazyGroup(TyperGroup):
    """The root group: knows the lazy commands by name, imports one when it is resolved."""

    app: typer.Typer | None = None
    """The Typer app the lazy modules register on (set by ``adapters.cli``)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_, short) in LAZY.items():
            if name not in self.commands:
                self.commands[name] = _Placeholder(name=name, help=short, callback=None)
        self._listing = 0

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing += 1  # listing the commands: the placeholders will do
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing -= 1

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if not isinstance(command, _Placeholder) or self._listing:
            return command
        real = load(cmd_name)
        self.commands[cmd_name] = real
        return real


def load(name: str) -> Any:
    """Import the module of lazy command ``name`` and build its click command."""
    module, _ = LAZY[name]
    importlib.import_module(module)
    assert LazyGroup.app is not None, "adapters.cli sets LazyGroup.app"
    group = typer.main.get_command(LazyGroup.app)
    assert isinstance(group, TyperGroup)
    return group.commands[name]
