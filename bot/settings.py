"""The core's settings, from the environment (``ALLIANCE_BOT_*``, ``__`` for nesting) and an
optional TOML file.

Only what is no platform's lives here: the database, the data folder, the alliance file,
logging, retention, and where the health and metrics endpoints are served. Each platform
declares its own section (``ALLIANCE_BOT_<SECTION>__*``) in its folder under ``adapters/``, and
the composition root (``adapters/settings.py``) adds those sections to this class. Secrets are
``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.errors import UserError
from bot.yamlsource import MAX_FILE_BYTES

SETTINGS_FILE_ENV = "ALLIANCE_BOT_SETTINGS_FILE"
M = TypeVar("M")
S = TypeVar("S", bound="Settings")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "alliance-bot"


class HttpSettings(BaseModel):
    """The health and metrics endpoints' own server (/healthz, /readyz, /metrics).

    Slack over HTTP serves them on its own server too; this one runs when ``port`` is set."""

    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=0, le=65535)
    """None: no server of its own (0: any free port)."""


class Settings(BaseSettings):
    """What the bot reads at start but a platform's section; the composition root adds one
    section per platform. See README.md, “Configuration”."""

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

    def section(self, name: str, model: type[M]) -> M:
        """The section ``name`` the composition root added (``ALLIANCE_BOT_<NAME>__*``), or
        ``model``'s defaults where it added none (settings built for the core alone)."""
        value = getattr(self, name, None)
        if value is None:
            return model()
        if not isinstance(value, model):
            raise TypeError(f"the settings section {name!r} is not a {model.__name__}")
        return value


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


def load_settings(model: type[S], settings_file: Path | None = None, **overrides: Any) -> S:
    """``model`` (this class, or the composition root's with the edge's sections) from the
    environment, over ``settings_file`` (or $ALLIANCE_BOT_SETTINGS_FILE)."""
    if settings_file is None and os.environ.get(SETTINGS_FILE_ENV):
        settings_file = Path(os.environ[SETTINGS_FILE_ENV])
    if settings_file is None:
        return model(**overrides)
    if not settings_file.is_file():
        raise UserError(f"The settings file {settings_file} does not exist; check the path.")

    class FileSettings(model):  # type: ignore[valid-type,misc]
        model_config = SettingsConfigDict(**{**model.model_config, "toml_file": settings_file})

    try:
        loaded: S = FileSettings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"The settings file {settings_file} is not valid TOML ({exc}).") from None
    return loaded
