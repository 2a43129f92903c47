"""Answering a slash command the way Slack expects: through the command's ``response_url``.

Slack gives every slash command a ``response_url``: posting JSON there shows the answer to the
person who typed the command (``ephemeral``), in any channel, even one the bot is not in. It
works for 30 minutes and 5 posts. The listener seals it with its expiry into the reply's
``ReplyTo.answer_by`` (opaque to the core), the outbox keeps it with the reply, and the port
posts there first; when it has expired, is used up, is missing or fails, the port answers with
``chat.postEphemeral`` as before.

The URL is a capability (anyone holding it may answer as the app), so it is never logged: not
by us, and not by slack_sdk's webhook client either, which logs it (we post with aiohttp).
Only Slack's own hooks host (or the host of a test's fake Web API) is ever posted to.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from adapters.slack.calls import DEFAULT_API

log = logging.getLogger(__name__)
LIFETIME = 30 * 60
"""Seconds a response_url works after the command (Slack's documented limit)."""
MARGIN = 60
"""Seconds before the end when it is no longer tried (the post itself takes time)."""
USES = 5
SLACK_HOOKS = "https://hooks.slack.com/"


def seal(url: str, received: float) -> str:
    """``ReplyTo.answer_by`` for a command received at ``received`` (epoch seconds)."""
    return f"{int(received) + LIFETIME} {url}"


def unseal(answer_by: str) -> tuple[float, str] | None:
    expires, _, url = answer_by.partition(" ")
    try:
        return float(expires), url
    except ValueError:
        return None


def response_payload(payload: Mapping[str, Any], private: bool) -> dict[str, Any]:
    """What a response_url takes: the message's text and blocks (no metadata there)."""
    return {
        "text": payload.get("text", ""),
        "blocks": list(payload.get("blocks") or []),
        "response_type": "ephemeral" if private else "in_channel",
        "replace_original": False,
    }


class ResponseUrls:
    """Which response URLs may be used, how often each was, and the posting itself."""

    def __init__(
        self,
        api_url: str = DEFAULT_API,
        *,
        timeout: float = 10.0,
        limit: int = 1024,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.trusted = [SLACK_HOOKS]
        if api_url != DEFAULT_API:  # another Slack (GovSlack's hooks host), or a test's fake
            parts = urlsplit(api_url)
            self.trusted += [f"{parts.scheme}://{h}{parts.netloc}/" for h in ("hooks.", "")]
        self.timeout = timeout
        self.limit = limit
        self.wall = wall
        """Slack's clock (real time: a test's manual clock does not move Slack's)."""
        self._uses: OrderedDict[str, int] = OrderedDict()

    def usable(self, answer_by: str | None) -> str | None:
        """The URL to post to, or None (missing, expired, used up, or not Slack's)."""
        found = unseal(answer_by) if answer_by else None
        if found is None:
            return None
        expires, url = found
        if self.wall() > expires - MARGIN:
            log.info("a slash command's response address has expired; answering ephemerally")
            return None
        if not any(url.startswith(host) for host in self.trusted):
            log.warning("a slash command came with a response address off Slack's; not used")
            return None
        if self._uses.get(url, 0) >= USES:
            log.info("a slash command's response address is used up; answering ephemerally")
            return None
        return url

    def _used(self, url: str) -> None:
        self._uses[url] = self._uses.get(url, 0) + 1
        self._uses.move_to_end(url)
        while len(self._uses) > self.limit:
            self._uses.popitem(last=False)

    async def post(self, session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> bool:
        """POST ``body`` to ``url``; True when Slack took it. Failures are logged without the
        URL or the exception's text (aiohttp puts the URL in it) and return False."""
        self._used(url)
        try:
            async with session.post(
                url,
                json=body,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,  # only ever the host checked above
            ) as response:
                answer = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning(
                "posting to a slash command's response address failed (%s)", type(exc).__name__
            )
            return False
        error = _error(answer)
        if status != 200 or error:
            log.warning(
                "Slack refused a post to a slash command's response address (%s %s)",
                status,
                error or "",
            )
            return False
        return True


def _error(answer: str) -> str | None:
    """Slack's error in an answer to a response_url post (``{"ok": false, "error": …}``)."""
    try:
        parsed = json.loads(answer)
    except ValueError:
        return None
    if isinstance(parsed, dict) and parsed.get("ok") is False:
        return str(parsed.get("error") or "error")[:64]
    return None
