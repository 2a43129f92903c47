"""Settings and the command line: secrets stay secret, mistakes read as one clear sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from adapters.settings import load_settings
from adapters.slack.adapter import SlackAdapter
from adapters.slack.pacing import Pacing
from bot.clock import ManualClock
from bot.domain.errors import UserError
from bot.storage.database import normalize_url

runner = CliRunner()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://bot:pw@db/alliance", "postgresql+asyncpg://bot:pw@db/alliance"),
        ("postgres://bot@db/alliance", "postgresql+asyncpg://bot@db/alliance"),
    ],
)
def test_plain_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_an_unsupported_database_is_refused_politely() -> None:
    with pytest.raises(UserError, match="not supported"):
        normalize_url("mysql://db/alliance")
    result = runner.invoke(app, ["--database-url", "mysql://db/x", "db", "upgrade"])
    assert result.exit_code == 2
    assert "not supported" in result.output
    assert "Traceback" not in result.output


def test_secrets_are_masked_and_nesting_works(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ALLIANCE_BOT_SLACK__BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("ALLIANCE_BOT_MATRIX__PASSWORD", "hunter2")
    file = tmp_path / "settings.toml"
    file.write_text('log_level = "WARNING"\n[slack]\nmode = "socket"\nport = 4000\n')
    monkeypatch.setenv("ALLIANCE_BOT_SLACK__PORT", "5000")  # the environment wins
    settings = load_settings(file)
    assert settings.slack.mode == "socket" and settings.slack.port == 5000
    assert settings.log_level == "WARNING"
    assert settings.slack.bot_token is not None
    assert settings.slack.bot_token.get_secret_value() == "xoxb-very-secret"
    result = runner.invoke(app, ["--settings", str(file), "settings"])
    assert result.exit_code == 0
    assert "xoxb-very-secret" not in result.output and "hunter2" not in result.output
    assert "**********" in result.output


def test_a_missing_settings_file_is_named() -> None:
    result = runner.invoke(app, ["--settings", "/nowhere/settings.toml", "settings"])
    assert result.exit_code == 2
    assert "/nowhere/settings.toml does not exist" in result.output


def test_help_explains_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("run", "demo", "db", "alliance", "prompts", "settings"):
        assert command in result.output
    for group in ("db", "alliance", "prompts"):
        sub = runner.invoke(app, [group, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_slack_pacing_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace on a stricter plan (or a test workspace) sets its own rates."""
    clock = ManualClock(datetime(2026, 11, 23, tzinfo=UTC))
    base = {"ALLIANCE_BOT_SLACK__BOT_TOKEN": "xoxb-1", "ALLIANCE_BOT_SLACK__SIGNING_SECRET": "s"}
    for key, value in base.items():
        monkeypatch.setenv(key, value)
    default = SlackAdapter.from_settings(load_settings(), clock).slack.pacing
    assert default == Pacing()
    monkeypatch.setenv("ALLIANCE_BOT_SLACK__WORKSPACE_PER_MINUTE", "300")
    monkeypatch.setenv("ALLIANCE_BOT_SLACK__CHANNEL_PER_SECOND", "0.5")
    pacing = SlackAdapter.from_settings(load_settings(), clock).slack.pacing
    assert (pacing.workspace_per_minute, pacing.channel_per_second) == (300, 0.5)
    assert pacing.tier3_per_minute == Pacing().tier3_per_minute
    monkeypatch.setenv("ALLIANCE_BOT_SLACK__WORKSPACE_PER_MINUTE", "-1")
    result = runner.invoke(app, ["settings"])
    assert result.exit_code != 0 and "workspace_per_minute" in result.output
    assert "Traceback" not in result.output
