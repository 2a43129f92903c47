"""Which token and which pacer a Slack call uses: those of the workspace it addresses.

With one bot token (``ALLIANCE_BOT_SLACK__BOT_TOKEN``) every call uses it and one pacer. Across
workspaces (OAuth), :class:`InstalledTokens` reads each workspace's installation from the store
(briefly cached), refreshes a token before it expires when token rotation is on, and refuses a
workspace that never installed the app or removed it, with the reason the outbox records. Each
workspace gets a pacer of its own, shared with the other workers under ``slack:<team>``.
A channel id does not say its workspace: :class:`ChannelTeams` learns it from the events that
come from the channel and, failing that, asks each installed workspace (conversations.info).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

from adapters.slack.installs import InstallationStore
from adapters.slack.pacing import Pacer, Pacing
from adapters.slack.translate import PLATFORM
from bot.ports import PlatformError, Rejected, SharedPace

log = logging.getLogger(__name__)
NOT_INSTALLED = (
    "Slack workspace {team} has not installed the app (its organisation's admin opens the "
    "install link from “installs”)"
)


REREAD_WAITS = (0.2, 0.5, 1.5)
"""After Slack refused a refresh token: when to look for another worker's refresh."""


class WorkspaceGone(Rejected):
    """The workspace cannot be reached at all (never installed, removed, tokens revoked)."""


@dataclass
class _Token:
    token: str
    expires_at: float | None
    """Epoch seconds; None: the token does not expire."""
    read_at: float


class InstalledTokens:
    """Bot tokens of the workspaces that installed the app."""

    def __init__(
        self,
        store: InstallationStore,
        rotator: AsyncTokenRotator | None = None,
        *,
        rotation_minutes: int = 120,
        ttl: float = 10.0,
    ) -> None:
        self.store = store
        self.rotator = rotator
        self.rotation_minutes = rotation_minutes
        self.ttl = ttl
        """Seconds a token read from the store is trusted before reading it again (another
        worker may have rotated it, or the workspace removed the app)."""
        self._cache: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.refreshed = 0

    def forget(self, team: str) -> None:
        self._cache.pop(team, None)

    def _fresh(self, team: str) -> str | None:
        found = self._cache.get(team)
        if found is None or time.monotonic() - found.read_at > self.ttl:
            return None
        horizon = time.time() + self.rotation_minutes * 60
        if found.expires_at is not None and found.expires_at <= horizon:
            return None  # due for a refresh
        return found.token

    async def token(self, team: str) -> str:
        """The workspace's bot token, refreshed first if it expires soon; Rejected (with the
        reason) when the workspace cannot be reached."""
        token = self._fresh(team)
        if token is not None:
            return token
        async with self._locks.setdefault(team, asyncio.Lock()):
            token = self._fresh(team)  # another call refreshed it meanwhile
            if token is not None:
                return token
            return await self._read(team)

    async def _read(self, team: str) -> str:
        installation = await self.store.async_find_installation(enterprise_id=None, team_id=team)
        if installation is None or not installation.bot_token:
            record = await self.store.record(team)
            if record is None or record.live:
                raise WorkspaceGone(NOT_INSTALLED.format(team=team))
            since = record.gone_at.strftime("%Y-%m-%d %H:%M UTC") if record.gone_at else "?"
            raise WorkspaceGone(f"{record.gone_reason} on {since}")
        if self.rotator is not None and installation.bot_refresh_token:
            installation = await self._rotate(team, installation, self.rotator)
        self._cache[team] = _Token(
            str(installation.bot_token), installation.bot_token_expires_at, time.monotonic()
        )
        return str(installation.bot_token)

    async def _rotate(
        self, team: str, installation: Installation, rotator: AsyncTokenRotator
    ) -> Installation:
        """The installation with a token that does not expire soon. Another worker may have
        used the same refresh token a moment before (Slack then refuses it): its saved
        installation is the answer, not a workspace gone."""
        try:
            refreshed = await rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=self.rotation_minutes
            )
        except SlackTokenRotationError as exc:
            for wait in REREAD_WAITS:
                await asyncio.sleep(wait)
                found = await self.store.async_find_installation(enterprise_id=None, team_id=team)
                if found is not None and found.bot_refresh_token != installation.bot_refresh_token:
                    log.info("Slack workspace %s: another worker refreshed its token", team)
                    return found
            error = getattr(exc.api_error, "response", {}) or {}
            raise WorkspaceGone(
                f"Slack refused to refresh workspace {team}'s token "
                f"({error.get('error', 'unknown error')})"
            ) from exc
        except (SlackApiError, OSError, TimeoutError) as exc:
            raise PlatformError(f"refreshing workspace {team}'s token failed: {exc}") from exc
        if refreshed is None:
            return installation
        await self.store.async_save(refreshed)
        self.refreshed += 1
        log.info("refreshed the bot token of Slack workspace %s", team)
        return refreshed


class Workspaces:
    """Tokens and pacers by workspace: one token for all (``token``), or installed ones."""

    def __init__(
        self,
        pacing: Pacing,
        default: Pacer,
        *,
        token: str | None = None,
        installed: InstalledTokens | None = None,
    ) -> None:
        self.pacing = pacing
        self.default = default
        self.single = token
        self.installed = installed
        self.shared: SharedPace | None = None
        self._pacers: dict[str, Pacer] = {}

    @property
    def many(self) -> bool:
        return self.installed is not None

    def share(self, shared: SharedPace) -> None:
        """Book every workspace's slots with the other workers (PostgreSQL)."""
        self.shared = shared
        for team, pacer in self._pacers.items():
            pacer.share(shared, f"slack:{team}")

    def pacer(self, team: str | None) -> Pacer:
        if not self.many or team is None:
            return self.default
        pacer = self._pacers.get(team)
        if pacer is None:
            pacer = self._pacers[team] = Pacer(self.pacing)
            if self.shared is not None:
                pacer.share(self.shared, f"slack:{team}")
        return pacer

    async def token(self, team: str | None) -> str | None:
        """The token for a call to ``team``'s workspace (None: the client's own, if any)."""
        if self.installed is None:
            return self.single
        if team is None:
            raise Rejected(
                "a Slack call without a workspace, while the app is installed per workspace"
            )
        return await self.installed.token(team)

    def forget(self, team: str) -> None:
        if self.installed is not None:
            self.installed.forget(team)

    async def teams(self) -> list[str]:
        """The workspaces with a live installation."""
        if self.installed is None:
            return []
        return [r.space for r in await self.installed.store.installations.all(PLATFORM) if r.live]


class ChannelTeams:
    """The workspace of each channel: learnt from events, else found by asking each installed
    workspace whether it knows the channel (``probe``)."""

    def __init__(
        self,
        teams: Callable[[], Awaitable[list[str]]],
        probe: Callable[[str, str], Awaitable[bool]],
    ) -> None:
        self.teams = teams
        self.probe = probe
        self._known: dict[str, str] = {}

    def learn(self, channel: str, team: str) -> None:
        if channel and team and self._known.get(channel) != team:
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[channel] = team

    def known(self, channel: str) -> str | None:
        return self._known.get(channel)

    async def team_of(self, channel: str) -> str:
        team = self._known.get(channel)
        if team is not None:
            return team
        for candidate in await self.teams():
            try:
                if await self.probe(candidate, channel):
                    self.learn(channel, candidate)
                    return candidate
            except Rejected:
                continue
        raise Rejected(f"no installed Slack workspace has the channel {channel}")
