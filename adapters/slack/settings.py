"""Slack's section of the settings: ``ALLIANCE_BOT_SLACK__*`` (``[slack]`` in a settings file).

Pure pydantic (no Slack library), so the settings load and print where the ``slack`` extra is
not installed.
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from bot.domain.errors import UserError
from bot.settings import Settings

SECTION = "slack"
"""``ALLIANCE_BOT_SLACK__*``, ``[slack]`` in a settings file."""


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

    def check(self) -> None:
        """Half configured is a mistake, not a reason to quietly run without Slack."""
        if not self.configured and (self.signing_secret or self.app_token):
            raise UserError(
                "Slack is half configured: set ALLIANCE_BOT_SLACK__BOT_TOKEN (the xoxb- Bot "
                "User OAuth Token), or unset the other ALLIANCE_BOT_SLACK__ settings to run "
                "without Slack."
            )
        self.check_oauth()

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


def _fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (ValueError, UnicodeEncodeError):
        return False


def of(settings: Settings) -> SlackSettings:
    """The slack section of the composition root's settings."""
    return settings.section(SECTION, SlackSettings)
