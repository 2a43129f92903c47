"""Installing the app in many workspaces with bolt's OAuth support (``AsyncOAuthFlow``).

Each organisation gets a link, ``<public url>/slack/install?organisation=<slug>``: bolt sends
the browser to Slack's authorize page with a signed ``state`` naming the organisation; Slack
sends it back to ``/slack/oauth_redirect`` with a one-time code, which bolt exchanges
(``oauth.v2.access``) for the workspace's bot token; the installation is stored sealed
(``adapters/slack/installs.py``). Token rotation (refresh tokens) is bolt's: the authorize
middleware and the port's :class:`~adapters.slack.workspaces.InstalledTokens` refresh a token
before it expires; ``app_uninstalled`` and ``tokens_revoked`` mark the workspace gone.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installs import InstallationStore, Sealer, StateStore
from adapters.slack.settings import SlackSettings
from adapters.slack.workspaces import InstalledTokens
from bot.reach import Installations

log = logging.getLogger(__name__)


class InstallFlow(AsyncOAuthFlow):
    """Bolt's flow, with the organisation of the install link carried in the signed state."""

    states: StateStore
    store: InstallationStore

    async def issue_new_state(self, request: AsyncBoltRequest) -> str:
        organisation = next(iter(request.query.get("organisation") or []), None)
        return self.states.issue(organisation[:64] if organisation else None)

    async def store_installation(
        self, request: AsyncBoltRequest, installation: Installation
    ) -> None:
        organisation = self.states.organisation(next(iter(request.query.get("state") or []), None))
        await self.store.async_save(installation, organisation)
        log.info(
            "Slack workspace %s (%s) installed the app%s",
            installation.team_id,
            installation.team_name,
            f" through {organisation}'s link" if organisation else "",
        )


@dataclass
class OAuth:
    """What installing across workspaces needs, built once the database is known."""

    settings: SlackSettings
    api_url: str

    def sealer(self) -> Sealer:
        return Sealer(self.settings.fernet_keys())

    def state_secret(self) -> str:
        secret = self.settings.state_secret or self.settings.client_secret
        assert secret is not None, "check_oauth() requires a client secret"
        value = secret.get_secret_value()
        if self.settings.state_secret is None:  # derived, so the client secret never signs
            value = hashlib.sha256(b"alliance-bot oauth state\0" + value.encode()).hexdigest()
        return value

    def rotator(self) -> AsyncTokenRotator:
        secret = self.settings.client_secret
        assert self.settings.client_id is not None and secret is not None
        return AsyncTokenRotator(
            client_id=self.settings.client_id,
            client_secret=secret.get_secret_value(),
            client=AsyncWebClient(base_url=self.api_url),
        )

    def tokens(self, installations: Installations) -> InstalledTokens:
        store = InstallationStore(installations, self.sealer())
        tokens = InstalledTokens(
            store, self.rotator(), rotation_minutes=self.settings.token_rotation_minutes
        )
        store.on_change = tokens.forget
        return tokens

    def redirect_uri(self) -> str | None:
        base = self.settings.public_url
        return base.rstrip("/") + self.settings.redirect_path if base else None

    def flow(self, store: InstallationStore, client: AsyncWebClient) -> InstallFlow:
        slack = self.settings
        assert slack.client_id is not None and slack.client_secret is not None
        states = StateStore(self.state_secret())
        settings = AsyncOAuthSettings(
            client_id=slack.client_id,
            client_secret=slack.client_secret.get_secret_value(),
            scopes=slack.scopes,
            user_scopes=[],
            redirect_uri=self.redirect_uri(),
            install_path=slack.install_path,
            install_page_rendering_enabled=False,  # the link goes straight to Slack
            redirect_uri_path=slack.redirect_path,
            authorization_url=slack.authorize_url,
            installation_store=store,
            token_rotation_expiration_minutes=slack.token_rotation_minutes,
            state_store=states,
            logger=log,
        )
        settings.authorize = AsyncInstallationStoreAuthorize(  # rotation through our API URL
            logger=log,
            installation_store=store,
            client_id=slack.client_id,
            client_secret=slack.client_secret.get_secret_value(),
            token_rotation_expiration_minutes=slack.token_rotation_minutes,
            client=AsyncWebClient(base_url=self.api_url),
            cache_enabled=True,  # one auth.test per token, not per event
        )
        flow = InstallFlow(client=client, logger=log, settings=settings)
        flow.states, flow.store = states, store
        return flow

    def install_url(self, served: str) -> str:
        """The install link's base: on the public URL, else where the bot serves HTTP."""
        base = (self.settings.public_url or served).rstrip("/")
        return base + self.settings.install_path
