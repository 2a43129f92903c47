"""Slack installations in the bot's own database, their tokens encrypted at rest.

:class:`InstallationStore` is slack_sdk's ``AsyncInstallationStore`` on the core's
``installations`` table (``bot.reach.Installations``): one row per workspace, whose
``credentials`` are the whole installation (bot token, refresh token, expiry, scopes, ids) as
JSON sealed with :class:`Sealer` (Fernet: AES-128-CBC with HMAC-SHA256). The first key seals,
every key opens, so keys rotate without downtime: add a new key in front, run
``alliance-bot slack rotate-keys`` (it reseals every row with the first key), then drop the old.
Uninstalling or revoking marks the row gone and drops its tokens; the row and the members' data
stay. :class:`StateStore` signs the OAuth ``state`` with the organisation whose link was used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.slack.translate import PLATFORM
from bot.domain.errors import UserError
from bot.reach import Installations, InstallRecord

log = logging.getLogger(__name__)
UNINSTALLED = "the app was uninstalled from Slack workspace {team} (app_uninstalled)"
REVOKED = "Slack workspace {team} revoked the app's tokens (tokens_revoked)"


class Sealer:
    """Seal and open secrets with MultiFernet: the first key seals, all of them open."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise UserError("Slack tokens need at least one key in ALLIANCE_BOT_SLACK__TOKEN_KEYS.")
        try:
            self.fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        except (ValueError, UnicodeEncodeError):
            raise UserError(
                "ALLIANCE_BOT_SLACK__TOKEN_KEYS holds a key that is not a Fernet key; make one "
                "with: alliance-bot slack new-key"
            ) from None

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def seal(self, value: dict[str, Any]) -> str:
        return self.fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            value = json.loads(self.fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise UserError(
                "A stored Slack installation cannot be decrypted with any key in "
                "ALLIANCE_BOT_SLACK__TOKEN_KEYS; put back the key it was sealed with."
            ) from None
        assert isinstance(value, dict)
        return value

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (MultiFernet.rotate)."""
        try:
            return self.fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise UserError(
                "A stored Slack installation cannot be decrypted with any key in "
                "ALLIANCE_BOT_SLACK__TOKEN_KEYS, so it cannot be re-encrypted; keep the old "
                "key in the list until every row is resealed."
            ) from None


def _plain(installation: Installation) -> dict[str, Any]:
    """An installation as JSON values (timestamps as numbers)."""
    value = installation.to_dict_for_copying()
    value["installed_at"] = installation.installed_at
    value["bot_token_expires_at"] = installation.bot_token_expires_at
    value["user_token_expires_at"] = installation.user_token_expires_at
    return value


def space_of(enterprise_id: str | None, team_id: str | None) -> str:
    """The row key: the team, or the organisation for an org-wide install."""
    return team_id or enterprise_id or ""


def prefix_of(team: str) -> str:
    """The accounts a workspace's installation reaches (the alliance file's TEAM:USER)."""
    return f"{team}:"


class InstallationStore(AsyncInstallationStore):
    """Bolt's installation store on the core's table, sealed. ``on_change(team)`` is called
    when a workspace's installation changes (saved, rotated, gone) so caches can drop it."""

    def __init__(
        self,
        installations: Installations,
        sealer: Sealer,
        on_change: Callable[[str], None] = lambda team: None,
    ) -> None:
        self.installations = installations
        self.sealer = sealer
        self.on_change = on_change
        self.organisation_hint: dict[str, str] = {}

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation, organisation: str | None = None) -> None:
        space = space_of(installation.enterprise_id, installation.team_id)
        await self.installations.save(
            PLATFORM,
            space,
            account_prefix=prefix_of(space),
            credentials=self.sealer.seal(_plain(installation)),
            name=installation.team_name or installation.enterprise_name or "",
            organisation=organisation,
        )
        self.on_change(space)

    async def async_save_bot(self, bot: Bot) -> None:
        found = await self.async_find_installation(
            enterprise_id=bot.enterprise_id, team_id=bot.team_id
        )
        if found is None:
            return
        found.bot_token, found.bot_refresh_token = bot.bot_token, bot.bot_refresh_token
        found.bot_token_expires_at = bot.bot_token_expires_at
        await self.async_save(found)

    async def record(self, team: str) -> InstallRecord | None:
        return await self.installations.find(PLATFORM, team)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        record = await self.record(space_of(enterprise_id, team_id))
        if record is None or not record.live or record.credentials is None:
            return None
        installation = Installation(**self.sealer.open(record.credentials))
        if user_id is not None and installation.user_id != user_id:
            return None  # the app asks for no user tokens: only the installer's is known
        return installation

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.async_find_installation(enterprise_id=enterprise_id, team_id=team_id)
        return None if found is None or found.bot_token is None else found.to_bot()

    async def gone(self, team: str, reason: str) -> None:
        if await self.installations.mark_gone(PLATFORM, team, reason):
            log.warning("Slack workspace %s can no longer be reached: %s", team, reason)
        self.on_change(team)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """tokens_revoked (the bot's): the workspace is cut off; its data stays."""
        team = space_of(enterprise_id, team_id)
        await self.gone(team, REVOKED.format(team=team))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """A user token revoked changes nothing (the app asks for none); the whole
        installation (no user) is the uninstall."""
        if user_id is None:
            team = space_of(enterprise_id, team_id)
            await self.gone(team, UNINSTALLED.format(team=team))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """app_uninstalled."""
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class StateStore(AsyncOAuthStateStore):
    """A signed, expiring OAuth ``state`` that names the organisation whose install link was
    opened. Nothing is stored, so any worker can check it; the browser cookie bolt sets binds it
    to the browser that started (CSRF), and Slack's one-time code makes a replay useless."""

    def __init__(self, secret: str, expiration_seconds: int = 600) -> None:
        self.secret = secret.encode()
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, organisation: str | None = None) -> str:
        claims = {"exp": int(time.time()) + self.expiration_seconds, "org": organisation}
        raw = json.dumps(claims, separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return f"{payload}.{self._sign(payload)}"

    def claims(self, state: str) -> dict[str, Any] | None:
        payload, _, signature = state.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(claims, dict) or int(claims.get("exp", 0)) < time.time():
            return None
        return claims

    def organisation(self, state: str | None) -> str | None:
        claims = self.claims(state or "")
        org = claims.get("org") if claims else None
        return org if isinstance(org, str) and org else None

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return self.issue(kwargs.get("organisation"))

    async def async_consume(self, state: str) -> bool:
        return self.claims(state) is not None
