"""One harness per adapter; the behavioural suite runs over every one found here.

A module in this package that defines ``HARNESS`` (a class with the ``tests.harness.Harness``
interface and a ``name``) is picked up by the ``harness`` fixture in tests/conftest.py.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def discover() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        harness = getattr(module, "HARNESS", None)
        if harness is not None:
            found[harness.name] = harness
    return found
