"""The core never imports a platform or web library: adapters translate, the core decides."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = ("slack_bolt", "slack_sdk", "nio", "aiohttp", "starlette", "fastapi", "requests")


def _imports(path: str) -> set[str]:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_in_bot_imports_a_platform_library() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imports(str(path.relative_to(REPO))) & set(FORBIDDEN))
        for path in (REPO / "bot").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_in_bot_imports_adapters() -> None:
    leaks = [
        str(p.relative_to(REPO))
        for p in (REPO / "bot").rglob("*.py")
        if "adapters" in _imports(str(p.relative_to(REPO)))
    ]
    assert leaks == []


def test_importing_the_whole_core_loads_no_platform_library() -> None:
    script = (
        "import importlib, pkgutil, sys, bot\n"
        "for m in pkgutil.walk_packages(bot.__path__, 'bot.'):\n"
        "    if '.migrations' not in m.name: importlib.import_module(m.name)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"
