"""Configuration mistakes read as one sentence saying how to fix them, and defaults are safe.

Each case runs the real ``python -m adapters`` as a subprocess, as an operator would, and
checks what they see: the exit status, the one line, and no traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.cli import MaskingFormatter
from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.storage.database import Database
from tests.botprocess import REPO, bot_env
from tests.conftest import EXAMPLE
from tests.pgserver import PostgresServer

PASSWORD = "pw-sentinel-4471"


Command = tuple[tuple[str, ...], dict[str, str], str]
"""``python -m adapters`` arguments, its environment, and what is typed on its stdin."""


def cli(*args: str, env: dict[str, str], stdin: str = "") -> tuple[int, str]:
    """Run ``python -m adapters ARGS``; its exit status and everything it printed."""
    return cli_many({"": (args, env, stdin)})[""]


def cli_many(commands: dict[str, Command]) -> dict[str, tuple[int, str]]:
    """Run several commands side by side (each start costs seconds of imports)."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = {name: pool.submit(_run, *command) for name, command in commands.items()}
        return {name: future.result() for name, future in futures.items()}


def _run(args: tuple[str, ...], env: dict[str, str], stdin: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "adapters", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def hide_module(root: Path, module: str) -> str:
    """A PYTHONPATH entry under which ``import module`` fails as if it was not installed."""
    package = root / "shim" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n"
    )
    return str(root / "shim")


SLACK = {"SLACK__BOT_TOKEN": "xoxb-1"}
MATRIX = {
    "MATRIX__HOMESERVER": "http://127.0.0.1:9",
    "MATRIX__USER_ID": "@bot:example.org",
    "MATRIX__PICKLE_KEY": "k" * 32,
}
CASES: dict[str, tuple[dict[str, str], str | None, list[str]]] = {
    "a Slack token without a signing secret": (SLACK, None, ["SLACK__SIGNING_SECRET"]),
    "Socket Mode without an app token": (
        {**SLACK, "SLACK__MODE": "socket"},
        None,
        ["SLACK__APP_TOKEN", "xapp-"],
    ),
    "the Slack extras not installed": (
        {**SLACK, "SLACK__SIGNING_SECRET": "s"},
        "slack_bolt",
        ["-m pip install", "[slack]"],
    ),
    "the Matrix extras not installed": (MATRIX, "nio", ["-m pip install", "[matrix]"]),
    "a Matrix homeserver without a user": (
        {"MATRIX__HOMESERVER": "https://matrix.example.org"},
        None,
        ["MATRIX__USER_ID", "@alliance-bot:example.org"],
    ),
    "a port that is not a number": (
        {"SLACK__PORT": "three thousand"},
        None,
        ["ALLIANCE_BOT_SLACK__PORT", "three thousand"],
    ),
}


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """``run`` once per case, all at the same time."""
    commands: dict[str, Command] = {}
    folders: dict[str, Path] = {}
    for case, (settings, hidden, _) in CASES.items():
        folders[case] = folder = tmp_path_factory.mktemp("case")
        env = bot_env(f"sqlite+aiosqlite:///{folder / 'bot.db'}", folder, **settings)
        if hidden is not None:
            env["PYTHONPATH"] = hide_module(folder, hidden)
        commands[case] = (("run",), env, "")
    return {case: (*result, folders[case]) for case, result in cli_many(commands).items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_configuration_mistake_is_one_sentence(
    case: str, mistakes: dict[str, tuple[int, str, Path]]
) -> None:
    code, out, folder = mistakes[case]
    assert code == 2, out
    assert "Traceback" not in out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    for word in CASES[case][2]:
        assert word in lines[0], out
    assert not (folder / "bot.db").exists(), "nothing started"


def test_a_log_level_in_lower_case_is_accepted(tmp_path: Path) -> None:
    env = bot_env(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", tmp_path, LOG_LEVEL="debug")
    code, out = cli("run", env=env)
    assert code == 0, out
    assert " DEBUG " in out and "Traceback" not in out


def _load_example(url: str) -> None:
    async def work() -> None:
        alliance, problems = validate_file(EXAMPLE)
        assert alliance is not None, problems
        db = Database(url)
        try:
            await db.upgrade()
            await load_alliance(db, alliance, EXAMPLE.read_text("utf-8"))
        finally:
            await db.dispose()

    asyncio.run(work())


def _fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_demo_leaves_a_configured_database_byte_for_byte_unchanged(tmp_path: Path) -> None:
    production = tmp_path / "production"
    production.mkdir()
    url = f"sqlite+aiosqlite:///{production / 'alliance.db'}"
    _load_example(url)
    before = _fingerprint(production)
    data_dir = tmp_path / "data"
    code, out = cli(
        "demo", "--manual-clock", env=bot_env(url, data_dir), stdin="advance 2m\nmydata\n"
    )
    assert code == 0, out
    assert "Traceback" not in out
    assert f"Demo alliance loaded into {data_dir / 'demo.db'}" in out
    assert "the configured one is left as it is" in out
    assert "bot → you" in out, "the demo ran: its campaign sent a prompt"
    assert _fingerprint(production) == before
    assert (data_dir / "demo.db").is_file()


def test_demo_refuses_a_configured_database_that_is_its_own_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    _load_example(url)
    before = _fingerprint(tmp_path)
    code, out = cli("demo", env=bot_env(url, tmp_path))
    assert code == 2 and "Traceback" not in out, out
    assert "Error: The configured database is the demo's own file" in out
    assert _fingerprint(tmp_path) == before


def test_database_passwords_never_reach_the_output_or_the_log(
    tmp_path: Path, postgres: PostgresServer | None
) -> None:
    if postgres is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    url = postgres.create_database("masked").replace("postgres@", f"postgres:{PASSWORD}@", 1)
    env = bot_env(url, tmp_path, CONSOLE__ENABLED="true")
    results = cli_many(
        {"settings": (("settings",), env, ""), "run": (("--verbose", "run"), env, "help\n")}
    )
    (code, shown), (ran, logged) = results["settings"], results["run"]
    assert code == 0 and "postgres:***@" in shown, shown
    assert ran == 0, logged
    assert "alliance-bot started on postgresql+asyncpg://postgres:***@" in logged
    assert PASSWORD not in shown + logged


def test_every_log_line_masks_url_passwords() -> None:
    """The formatter the command line installs: whatever a library logs, tracebacks too."""
    formatter = MaskingFormatter("%(message)s")
    try:
        raise ConnectionError(f"cannot reach postgresql://bob:{PASSWORD}@db/alliance")
    except ConnectionError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "using %s", (f"postgres://a:{PASSWORD}@h/d",),
            sys.exc_info(),
        )  # fmt: skip
    text = formatter.format(record)
    assert PASSWORD not in text, text
    assert "postgres://a:***@h/d" in text and "postgresql://bob:***@db/alliance" in text
