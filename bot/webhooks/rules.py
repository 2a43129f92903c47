"""What a webhook may be: its events and its address. Pure rules, shared by the CLI, the
alliance file's validation and the outbox."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from enum import StrEnum
from urllib.parse import urlsplit

from bot.domain.errors import UserError


class WebhookEvent(StrEnum):
    CHECKIN_STORED = "checkin.stored"
    CHECKIN_EDITED = "checkin.edited"
    """Its answer changed, or its author shared or unshared it."""
    CHECKIN_DELETED = "checkin.deleted"
    """Its author (or an admin, at their request) erased it: drop your copy."""
    MEASURE_CHANGED = "measure.changed"
    """An organisation's figure for a measure and period was reported or corrected."""
    DIGEST_PRODUCED = "digest.produced"
    PING = "ping"
    """Sent by ``alliance-bot webhook test``; never subscribed to."""


EVENTS = tuple(e.value for e in WebhookEvent if e is not WebhookEvent.PING)
DISABLE_AFTER = 12
"""Failed requests in a row before an endpoint is disabled: with the backoff doubling from 5 s
to an hour, about three hours of failing."""


def check_url(url: str) -> str:
    """An https URL (http only to this machine): a webhook carries people's words."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"“{url}” is not a web address; give one like https://example.org/hook.")
    if parts.scheme == "http" and not _local(parts.hostname):
        raise UserError(
            f"“{url}” is not encrypted: use https:// (http:// is allowed only for localhost)."
        )
    return url


def _local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_events(events: Sequence[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise UserError(
            f"Unknown webhook event {', '.join(unknown)}; the events are: {', '.join(EVENTS)}."
        )
    return sorted(set(events)) or list(EVENTS)
