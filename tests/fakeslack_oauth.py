"""The fake Slack (tests/fakeslack.py) serving several workspaces, and Slack's OAuth.

Each workspace has its own team id, bot user, members and channels. A bot token is issued
only by installing (``oauth.v2.access`` with a code the fake's authorize page gave out), and
every call must carry the token of the workspace it addresses (the channel's, or the user's):
a call with another workspace's token fails ``channel_not_found`` and is listed in
``wrong_team``. With ``expires_in`` set, tokens rotate: ``oauth.v2.access`` with
``grant_type=refresh_token`` gives a new token, and the old one stops working at once.
Rate limits and 429s are the base fake's, with a workspace cap per team.

    fake = MultiSlack([Team("T1ANN", users={"U1ANNA"}), ...])
    fake.installing = "T1ANN"          # whose admin clicks "Allow" on the authorize page
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakeslack import FakeSlack
from tests.fakeslack_parts import Bucket, SlackError

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"


@dataclass
class Team:
    id: str
    users: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    name: str = ""

    @property
    def bot_user(self) -> str:
        return "U" + self.id[1:] + "BOT"


@dataclass
class Issued:
    team: str
    expires_at: float | None


@dataclass
class MultiSlack(FakeSlack):
    teams: list[Team] = field(default_factory=list)
    expires_in: int | None = None
    """Seconds an issued token lasts (None: tokens do not rotate)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.tokens: dict[str, Issued] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        self.installing: str | None = None
        self.used: list[tuple[str, str, str]] = []
        """(method, the token's team, the addressed team) of every call that addressed one."""
        self.wrong_team: list[tuple[str, str, str]] = []
        self.refreshes = 0
        self._caller: str | None = None
        self._n = itertools.count(1)
        self._caps: dict[str, Bucket] = {}

    # --- workspaces and tokens ----------------------------------------------------------

    def workspace(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)

    def team_of(self, target: str) -> str | None:
        """The workspace of a channel, DM or user id."""
        user = "U" + target[1:] if target.startswith("D") else target
        for team in self.teams:
            if user in team.users or target in team.channels or user == team.bot_user:
                return team.id
        return None

    def _workspace_of(self, channel: str) -> Bucket:
        """Each workspace has its own cap (``limits.workspace_per_minute``), as on Slack."""
        team = self.team_of(channel) or self.team
        if team not in self._caps:
            limits = self.limits
            self._caps[team] = Bucket(
                limits.workspace_per_minute / 60, limits.workspace_burst, limits.jitter
            )
        return self._caps[team]

    def tokens_of(self, team: str) -> list[str]:
        return [token for token, issued in self.tokens.items() if issued.team == team]

    def revoke(self, team: str) -> None:
        """The workspace removed the app: its tokens stop working."""
        for token in self.tokens_of(team):
            del self.tokens[token]

    def _issue(self, team: str) -> dict[str, Any]:
        n = next(self._n)
        rotating = self.expires_in is not None
        token = f"xoxe.xoxb-{team}-{n}" if rotating else f"xoxb-{team}-{n}"
        expires = time.time() + self.expires_in if self.expires_in is not None else None
        self.tokens[token] = Issued(team, expires)
        answer: dict[str, Any] = {"access_token": token, "token_type": "bot"}
        if rotating:
            refresh = f"xoxe-1-{team}-{n}"
            self.refresh_tokens[refresh] = team
            answer.update(refresh_token=refresh, expires_in=self.expires_in)
        return answer

    def authorised(self, method: str, token: str) -> bool:
        self._caller = None
        if method == "oauth.v2.access":
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            return token == f"Basic {basic}"
        issued = self.tokens.get(token)
        if issued is None or (issued.expires_at is not None and issued.expires_at < time.time()):
            return False
        self._caller = issued.team
        return True

    def _addressed(self, method: str, target: object) -> None:
        """The call's token must be the addressed workspace's (no await since authorised())."""
        team = self.team_of(str(target or ""))
        if team is None or self._caller is None:
            return
        self.used.append((method, self._caller, team))
        if team != self._caller:
            self.wrong_team.append((method, self._caller, team))
            raise SlackError("channel_not_found")

    # --- OAuth --------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/oauth/v2/authorize", self._authorize)

    @property
    def authorize_url(self) -> str:
        return f"{self.base}/oauth/v2/authorize"

    async def _authorize(self, request: web.Request) -> web.Response:
        """The admin allows the app: back to the redirect URI with a code and the state."""
        query = request.query
        if query.get("client_id") != CLIENT_ID or self.installing is None:
            return web.Response(status=400, text="unknown client or nobody installing")
        code = f"code-{next(self._n)}"
        self.codes[code] = self.installing
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        raise web.HTTPFound(back)

    def _oauth_v2_access(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        if body.get("grant_type") == "refresh_token":
            team = self.refresh_tokens.pop(str(body.get("refresh_token")), None)
            if team is None:
                raise SlackError("invalid_refresh_token")
            self.revoke(team)  # the old token stops working at once
            self.refreshes += 1
            return {"ok": True, "team": {"id": team}, **self._issue(team)}
        team = self.codes.pop(str(body.get("code")), None)
        if team is None:
            raise SlackError("invalid_code")
        found = self.workspace(team)
        return {
            "ok": True,
            "app_id": "A0APP",
            "authed_user": {"id": next(iter(sorted(found.users)), "U0ADMIN")},
            "scope": "chat:write,im:write,commands",
            "bot_user_id": found.bot_user,
            "team": {"id": team, "name": found.name or team},
            "enterprise": None,
            "is_enterprise_install": False,
            **self._issue(team),
        }

    # --- methods that address a workspace -----------------------------------------------

    def _auth_test(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        team = self._caller or self.team
        return {
            **super()._auth_test(body, now),
            "team_id": team,
            "user_id": self.workspace(team).bot_user if self._caller else self.bot_user,
        }

    def _chat_postMessage(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("chat.postMessage", body.get("channel"))
        return super()._chat_postMessage(body, now)

    def _chat_update(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("chat.update", body.get("channel"))
        return super()._chat_update(body, now)

    def _chat_postEphemeral(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("chat.postEphemeral", body.get("channel"))
        return super()._chat_postEphemeral(body, now)

    def _conversations_open(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("conversations.open", body.get("users"))
        return super()._conversations_open(body, now)

    def _conversations_history(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("conversations.history", body.get("channel"))
        return super()._conversations_history(body, now)

    def _conversations_replies(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("conversations.replies", body.get("channel"))
        return super()._conversations_replies(body, now)

    def _conversations_info(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if self.team_of(channel) is None or self.team_of(channel) != self._caller:
            raise SlackError("channel_not_found")  # a look-up: asking is not a wrong call
        return {"ok": True, "channel": {"id": channel}}

    def _views_publish(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("views.publish", body.get("user_id"))
        return super()._views_publish(body, now)

    def _files_completeUploadExternal(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        self._addressed("files.completeUploadExternal", body.get("channel_id"))
        return super()._files_completeUploadExternal(body, now)
