"""Starting up: ``--help`` and ``--version`` without the heavy imports, and an unchanged
alliance file not loaded again at start. No timings are asserted (bench/help_time.py and
bench/load_bench.py measure them): these check the behaviour that makes start-up fast."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from adapters.lazy import LAZY, load
from bot.clock import ManualClock
from bot.runtime import Runtime
from tests.conftest import REPO
from tests.harness import ALLIANCE

HEAVY = ("matplotlib", "alembic", "sqlalchemy", "slack_bolt", "nio", "openpyxl", "babel", "numpy")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _imported_by(*args: str) -> set[str]:
    """The top-level packages a fresh ``python -m adapters ARGS`` process has imported."""
    probe = (
        "import json, sys\n"
        "sys.argv = ['alliance-bot', *json.loads(sys.argv[1])]\n"
        "from adapters.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_lists_every_command_without_importing_the_heavy_parts() -> None:
    modules = _imported_by("--help")
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    out = CliRunner().invoke(app, ["--help"]).output
    for name in ("run", "demo", "audit", "alliance", "db", "settings"):
        assert f" {name} " in out, out


def test_version_prints_the_installed_version_and_reads_no_settings(tmp_path: Path) -> None:
    broken = tmp_path / "settings.toml"
    broken.write_text("this is not = [toml", encoding="utf-8")
    result = CliRunner().invoke(app, ["--settings", str(broken), "--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"alliance-bot {version('alliance-bot')}"
    assert not _imported_by("--version") & set(HEAVY)


@pytest.mark.parametrize("name", sorted(LAZY))
def test_a_lazy_command_is_listed_with_its_own_help(name: str) -> None:
    """The line ``--help`` shows without importing the command is the command's own."""
    real = load(name)
    assert real.help is not None
    first = " ".join(real.help.split("\n\n")[0].split())
    assert LAZY[name][1] == first


def test_a_lazy_command_still_runs_and_shows_its_options() -> None:
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    assert "--manual-clock" in result.output


async def test_an_unchanged_alliance_file_is_not_loaded_again_at_start(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "alliance.yaml"
    file.write_text(ALLIANCE, encoding="utf-8")

    async def start() -> Runtime:
        runtime = Runtime(db_url, ManualClock(START), {}, alliance_file=file, real_time=False)
        await runtime.start()
        await runtime.stop()
        return runtime

    first = await start()
    assert first.load_report is not None and first.load_report.added
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.runtime"):
        second = await start()
    said = [r.getMessage() for r in caplog.records if "not loading it again" in r.getMessage()]
    assert len(said) == 1 and str(file) in said[0], caplog.text
    assert second.load_report is not None and second.load_report.unchanged

    file.write_text(ALLIANCE.replace("name: Test Alliance", "name: Renamed Alliance"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.runtime"):
        third = await start()
    assert "not loading it again" not in caplog.text
    assert third.load_report is not None
    assert third.load_report.changed == ["alliance “Renamed Alliance”"]
