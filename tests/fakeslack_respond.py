"""The fake Slack's slash-command ``response_url``s: ``/response/<token>`` on the fake's own
server. Like Slack's, each takes 5 posts; tests can make the next posts fail, or expire a URL.

    url = fake.responses.url()          # a command_form's response_url
    fake.responses.fail(404, "expired_url")
    [posted] = fake.responses.posted     # what reached it
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

USES = 5


@dataclass
class Responded:
    token: str
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.body.get("blocks") or [])


class Responses:
    def __init__(self) -> None:
        self.base = ""
        self.posted: list[Responded] = []
        """Posts Slack took."""
        self.refused = 0
        self._tokens = itertools.count(1)
        self._uses: dict[str, int] = {}
        self._expired: set[str] = set()
        self._failures: list[tuple[int, str]] = []

    def route(self, app: web.Application) -> None:
        app.router.add_post("/response/{token}", self._post)

    def url(self) -> str:
        """A new response_url, as Slack puts in a slash command's form."""
        token = f"T{next(self._tokens):06d}x{id(self) % 9973}"
        self._uses[token] = 0
        return f"{self.base}/response/{token}"

    def fail(self, status: int = 500, error: str = "internal_error", times: int = 1) -> None:
        self._failures.extend([(status, error)] * times)

    def expire(self, url: str) -> None:
        self._expired.add(url.rsplit("/", 1)[-1])

    async def _post(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if self._failures:
            status, error = self._failures.pop(0)
            return self._refuse(status, error)
        if token not in self._uses:
            return self._refuse(404, "invalid_url")
        if token in self._expired:
            return self._refuse(404, "expired_url")
        if self._uses[token] >= USES:
            return self._refuse(404, "used_url")
        try:
            body = json.loads(await request.text())
        except ValueError:
            return self._refuse(400, "invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return self._refuse(400, "no_text")
        self._uses[token] += 1
        self.posted.append(Responded(token, body))
        return web.json_response({"ok": True})

    def _refuse(self, status: int, error: str) -> web.Response:
        self.refused += 1
        return web.json_response({"ok": False, "error": error}, status=status)
