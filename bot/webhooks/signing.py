"""How a webhook proves it came from the bot, checked the way Slack's requests are.

Each POST carries ``X-Alliance-Request-Timestamp`` (Unix seconds) and
``X-Alliance-Signature: v1=<hex>``, the HMAC-SHA256 of ``v1:<timestamp>:<body>`` under the
endpoint's secret. A receiver recomputes it over the raw body, compares in constant time,
and refuses a timestamp more than five minutes away from its own clock (a replay).
Pure functions: the courier signs, receivers (and the tests) verify.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

VERSION = "v1"
TOLERANCE_SECONDS = 300
SIGNATURE = "X-Alliance-Signature"
TIMESTAMP = "X-Alliance-Request-Timestamp"
EVENT = "X-Alliance-Event"
DELIVERY = "X-Alliance-Delivery"
"""The same on every try of one event: a receiver that saw it already answers 2xx and skips it."""


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    base = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def headers(secret: str, timestamp: int, body: bytes, event: str, delivery: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP: str(timestamp),
        SIGNATURE: signature(secret, timestamp, body),
        EVENT: event,
        DELIVERY: delivery,
    }


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signed: str | None,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when ``signed`` is this body's signature under ``secret``, made within
    ``tolerance`` seconds of ``now``."""
    if not timestamp or not signed:
        return False
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, moment, body), signed)
