"""Signed requests whose body Slack would never send: a 400 and one log line, no traceback.

Bolt parses a body before it looks at it, and a body it cannot parse (not JSON, a JSON list, a
``payload`` that is not an object, an event that is not an object, bytes that are not UTF-8)
ends in a 500 with a traceback. :func:`malformed` says what is wrong with a body, purely;
:func:`guard` answers such a body before bolt sees it: 400 when its signature holds, 401 when
not (as bolt would); bytes that are not UTF-8 cannot be signed, and get a 400 at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)
NOT_UTF8 = "the body is not UTF-8"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def malformed(body: bytes, content_type: str) -> str | None:
    """What is wrong with a request body, or None when bolt can read it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if not text.strip():
        return None  # bolt answers an empty body itself
    if content_type.startswith("application/json"):
        data = _object(text)
        if data is None:
            return "the body is not a JSON object"
        if "event" in data and not isinstance(data["event"], dict):
            return "its event is not an object"
        return None
    form = parse_qs(text, keep_blank_values=True)
    payload = form.get("payload")
    if payload is not None and _object(payload[0]) is None:
        return "its payload is not a JSON object"
    return None


def guard(signing_secret: str) -> Middleware:
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        body = await request.read()  # aiohttp keeps it: bolt reads it again
        problem = malformed(body, request.content_type)
        if problem is None:
            try:
                return await handler(request)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                # Bolt reads ids out of the body before it checks anything: a field of the
                # wrong type ends there, and its listeners never ran.
                problem = f"a field has the wrong type ({type(exc).__name__})"
        # No signature is computed over bytes that are not text.
        if problem != NOT_UTF8 and not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401, text="Invalid request signature.")
        log.warning("refused a Slack request: %s", problem)
        return web.Response(status=400, text=f"Malformed request: {problem}.")

    return middleware
