"""Settings from the environment (``ALLIANCE_BOT_*``, ``__`` for nesting) and an optional TOML file.

Secrets are ``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.errors import UserError

SETTINGS_FILE_ENV = "ALLIANCE_BOT_SETTINGS_FILE"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "alliance-bot"


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    mode: Literal["http", "socket"] = "http"
    host: str = "127.0.0.1"
    port: int = 3000
    api_url: str | None = None
    channel_per_second: float = Field(1.0, ge=0)
    """Messages a second per channel (Slack allows about one); 0 turns pacing off."""
    workspace_per_minute: float = Field(600.0, ge=0)
    """Messages a minute for the whole workspace."""
    tier3_per_minute: float = Field(50.0, ge=0)
    """Calls a minute per Tier 3 method (chat.update, conversations.open and .history)."""

    @property
    def configured(self) -> bool:
        return self.bot_token is not None


class MatrixSettings(BaseModel):
    homeserver: str | None = None
    user_id: str | None = None
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    device_id: str | None = None
    store_path: Path | None = None
    pickle_key: SecretStr | None = None

    @property
    def configured(self) -> bool:
        return self.homeserver is not None and self.user_id is not None


class ConsoleSettings(BaseModel):
    enabled: bool | None = None
    """None: on when no other platform is configured."""


class Settings(BaseSettings):
    """Everything the bot reads at start. See README.md, “Configuration”."""

    model_config = SettingsConfigDict(
        env_prefix="ALLIANCE_BOT_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = default_data_dir()
    database_url: str | None = None
    alliance_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    slack: SlackSettings = SlackSettings()
    matrix: MatrixSettings = MatrixSettings()
    console: ConsoleSettings = ConsoleSettings()

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'alliance-bot.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe to print: secrets masked."""
        return self.model_dump(mode="json")


def load_settings(settings_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, over ``settings_file`` (or $ALLIANCE_BOT_SETTINGS_FILE)."""
    if settings_file is None and os.environ.get(SETTINGS_FILE_ENV):
        settings_file = Path(os.environ[SETTINGS_FILE_ENV])
    if settings_file is None:
        return Settings(**overrides)
    if not settings_file.is_file():
        raise UserError(f"The settings file {settings_file} does not exist; check the path.")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": settings_file})

    try:
        return FileSettings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"The settings file {settings_file} is not valid TOML ({exc}).") from None
