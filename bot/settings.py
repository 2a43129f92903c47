"""Settings from the environment (``ALLIANCE_BOT_*``, ``__`` for nesting) and an optional TOML file.

Secrets are ``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import base64
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.errors import UserError
from bot.yamlsource import MAX_FILE_BYTES

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
    # Across workspaces (OAuth): each partner organisation installs the app in its own
    # workspace; used instead of bot_token.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_keys: SecretStr | None = None
    """Comma-separated Fernet keys: the first encrypts the stored tokens, all decrypt."""
    state_secret: SecretStr | None = None
    """Signs the install links' state (default: derived from the client secret)."""
    public_url: str | None = None
    """The bot's public HTTPS address, e.g. https://bot.example.org (install links, redirect)."""
    install_path: str = "/slack/install"
    redirect_path: str = "/slack/oauth_redirect"
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    scopes: str = (
        "chat:write,im:write,im:history,channels:history,channels:read,groups:read,"
        "commands,files:write,reactions:read"
    )
    token_rotation_minutes: int = Field(120, ge=1, le=720)
    """With token rotation on, a token is refreshed this many minutes before it expires."""

    @property
    def configured(self) -> bool:
        return self.bot_token is not None or self.client_id is not None

    @property
    def across_workspaces(self) -> bool:
        return self.client_id is not None and self.bot_token is None

    def fernet_keys(self) -> list[str]:
        raw = self.token_keys.get_secret_value() if self.token_keys else ""
        return [key.strip() for key in raw.split(",") if key.strip()]

    def check_oauth(self) -> None:
        """Installing across workspaces: everything it needs, or one sentence saying what."""
        if self.client_id is None:
            return
        start = "Slack across workspaces (ALLIANCE_BOT_SLACK__CLIENT_ID)"
        if self.bot_token is not None:
            raise UserError(
                f"{start} and a single bot token (ALLIANCE_BOT_SLACK__BOT_TOKEN) are both set; "
                "unset one of them."
            )
        if self.client_secret is None:
            raise UserError(
                f"{start} needs ALLIANCE_BOT_SLACK__CLIENT_SECRET (the app's Basic Information "
                "page, App Credentials)."
            )
        if self.mode != "http":
            raise UserError(f"{start} needs ALLIANCE_BOT_SLACK__MODE=http for its install pages.")
        keys = self.fernet_keys()
        if not keys:
            raise UserError(
                f"{start} stores tokens encrypted and needs ALLIANCE_BOT_SLACK__TOKEN_KEYS "
                "(make one with: alliance-bot slack new-key)."
            )
        for number, key in enumerate(keys, 1):
            if not _fernet_key(key):
                raise UserError(
                    f"Key {number} of ALLIANCE_BOT_SLACK__TOKEN_KEYS is not a Fernet key "
                    "(44 characters of URL-safe base64; make one with: alliance-bot slack "
                    "new-key)."
                )


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


class HttpSettings(BaseModel):
    """The health and metrics endpoints' own server (/healthz, /readyz, /metrics).

    Slack over HTTP serves them on its own server too; this one runs when ``port`` is set."""

    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=0, le=65535)
    """None: no server of its own (0: any free port)."""


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
    alliance_max_mb: float = Field(MAX_FILE_BYTES / 1_000_000, gt=0)
    """The largest alliance file (and members CSV) the bot reads, in MB."""
    copies_keep_days: float = Field(30.0, gt=0, le=3660)
    """How long the bot keeps its copies of what it sent (replies, and the exports and charts
    they carried, in the outbox and on disk), in days; a shorter ``retention`` wins."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    """json: one JSON object per line (see adapters/logs.py)."""
    http: HttpSettings = HttpSettings()
    slack: SlackSettings = SlackSettings()
    matrix: MatrixSettings = MatrixSettings()
    console: ConsoleSettings = ConsoleSettings()

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("database_url")
    @classmethod
    def _readable_url(cls, value: str | None) -> str | None:
        """A URL the bot cannot use is refused at start, with one sentence (a UserError)."""
        from bot.storage.database import normalize_url

        if value:
            normalize_url(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            return "WARNING" if value == "WARN" else value
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def alliance_max_bytes(self) -> int:
        return int(self.alliance_max_mb * 1_000_000)

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
        """The settings as a dict safe to print: secrets and passwords in URLs masked."""
        masked: dict[str, Any] = _masked(self.model_dump(mode="json"))
        return masked

    def check_platforms(self) -> None:
        """A platform half configured is a mistake, not a reason to quietly run without it."""
        slack, matrix = self.slack, self.matrix
        if not slack.configured and (slack.signing_secret or slack.app_token):
            raise UserError(
                "Slack is half configured: set ALLIANCE_BOT_SLACK__BOT_TOKEN (the xoxb- Bot "
                "User OAuth Token), or unset the other ALLIANCE_BOT_SLACK__ settings to run "
                "without Slack."
            )
        slack.check_oauth()
        if bool(matrix.homeserver) != bool(matrix.user_id):
            missing = "USER_ID (the bot's account, like @alliance-bot:example.org)"
            given = "HOMESERVER"
            if matrix.user_id:
                missing, given = "HOMESERVER (like https://matrix.example.org)", "USER_ID"
            raise UserError(
                f"Matrix is half configured: ALLIANCE_BOT_MATRIX__{given} is set but "
                f"ALLIANCE_BOT_MATRIX__{missing} is not; set it, or unset "
                f"ALLIANCE_BOT_MATRIX__{given} to run without Matrix."
            )


def _fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (ValueError, UnicodeEncodeError):
        return False


# scheme://user:password@host: the password runs to the last @ before the host (an @ in a
# password should be written %40, but people do not always).
_URL_PASSWORD = re.compile(
    r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):\S*?@(?=[^@\s/?#]*(?:[/?#\s]|$))"
)


_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s]*", re.IGNORECASE)


def mask_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_urls(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def explain_settings_error(err: ValidationError) -> str:
    """One sentence per mistake: the setting, its variable, what is wrong."""
    parts = []
    for entry in err.errors(include_url=False):
        loc = [str(part) for part in entry["loc"]]
        variable = "ALLIANCE_BOT_" + "__".join(loc).upper()
        message = str(entry["msg"])
        value = entry.get("input")
        shown = f" (it says “{mask_urls(str(value))[:60]}”)" if isinstance(value, str) else ""
        parts.append(f"{'.'.join(loc)} ({variable}): {message[:1].lower()}{message[1:]}{shown}")
    return "The settings are not valid: " + "; ".join(parts) + ". Fix the value and try again."


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
