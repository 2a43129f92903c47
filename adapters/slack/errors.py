"""Slack Web API failures as the core's errors: RateLimited (wait as asked), PlatformError
(retried with backoff) or Rejected (it will not pass by retrying)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.ports import PlatformError, RateLimited, Rejected

REJECTED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
        "channel_not_found",
        "user_not_found",
        "users_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "user_disabled",
        "user_not_in_channel",
        "restricted_action",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_arguments",
        "invalid_metadata_format",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_trigger_id",
        "expired_trigger_id",
        "not_in_workspace",
        "method_deprecated",
        "unknown_method",
    }
)


def retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return default
    return default


def classify(status: int, error: str | None, headers: Mapping[str, Any] | None) -> Exception:
    """A Slack API failure as the core's exception."""
    what = f"Slack answered {status} {error or ''}".strip()
    if status == 429 or error == "ratelimited":
        return RateLimited(retry_after(headers), what)
    if status >= 500 or error in (
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    ):
        return PlatformError(what)
    if error in REJECTED or 400 <= status < 500:
        return Rejected(what)
    return PlatformError(what)
