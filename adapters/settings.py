"""The whole settings: the core's (``bot/settings.py``) and one section per platform of the
registry (``adapters/registry.py``), each declared in the platform's folder.

    settings = load_settings(settings_file)    # the composition root, once at start
    check_platforms(settings)                  # before building any platform

The environment variables keep one shape: ``ALLIANCE_BOT_<FIELD>`` for the core's fields and
``ALLIANCE_BOT_<SECTION>__<FIELD>`` for a section (``[section]`` in a TOML file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import create_model

from adapters.registry import Platform, in_build_order, platforms
from bot import settings as core


def settings_model(among: tuple[Platform, ...] | None = None) -> type[core.Settings]:
    """The core's settings with a section for each platform of ``among`` (the fallback, the
    console, last: in the order they are built)."""
    sections: dict[str, Any] = {}
    for platform in in_build_order(platforms() if among is None else among):
        model = platform.settings.model
        sections[platform.settings.name] = (model, model())
    composed: type[core.Settings] = create_model(
        "Settings",
        __base__=core.Settings,
        __doc__="Everything the bot reads at start. See README.md, “Configuration”.",
        __module__=__name__,
        **sections,
    )
    return composed


Settings = settings_model()
"""The settings class of the composition root (``Settings(slack={...})`` in tests)."""


def load_settings(settings_file: Path | None = None, **overrides: Any) -> core.Settings:
    """Every section from the environment, over ``settings_file`` (or
    $ALLIANCE_BOT_SETTINGS_FILE); a mistake raises pydantic's ValidationError or a UserError."""
    return core.load_settings(Settings, settings_file, **overrides)


def check_platforms(settings: core.Settings) -> None:
    """A platform half configured is a mistake, not a reason to quietly run without it."""
    for platform in platforms():
        platform.check(settings)
