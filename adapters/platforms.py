"""What a configured platform needs before it can start: complete settings and its extra.

A mistake ends ``run`` with one sentence saying how to fix it (the exact ``pip`` command for a
missing extra), before anything else starts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from adapters.cli import fail
from adapters.registry import platforms
from adapters.settings import check_platforms
from bot.domain.errors import UserError
from bot.settings import Settings

T = TypeVar("T")


def extra_of(module: str) -> str | None:
    """The extra (``slack``, ``matrix``) that installs the top-level ``module``, if any."""
    for platform in platforms():
        if platform.extra is not None and module in platform.extra.modules:
            return platform.extra.name
    return None


def install_command(extra: str) -> str:
    """The exact command that installs ``extra`` into the Python running this."""
    checkout = Path(__file__).resolve().parent.parent
    target = f"{checkout}[{extra}]" if (checkout / "pyproject.toml").is_file() else None
    if target is not None:
        return f"{sys.executable} -m pip install -e '{target}'"
    return f"{sys.executable} -m pip install 'alliance-bot[{extra}]'"


def configured(settings: Settings, build: Callable[[], T]) -> T:
    """``build()`` the platforms the settings ask for; a setting missing or a platform library
    not installed ends the command with one sentence saying how to fix it."""
    try:
        check_platforms(settings)
        return build()
    except UserError as exc:
        fail(str(exc))
    except ModuleNotFoundError as exc:
        extra = extra_of((exc.name or "").split(".")[0])
        if extra is None:
            raise
        fail(
            f"{extra.capitalize()} is configured but its support is not installed "
            f"({exc.name} is missing); install it with: {install_command(extra)}"
        )
    raise AssertionError("unreachable")
