"""Slack's one escaping of text it shows (mrkdwn and the notification text alike)."""

from __future__ import annotations


def escape(text: str) -> str:
    """Slack's three control characters as entities: the text is shown, never parsed, so
    ``<!channel>`` or ``<@U…>`` typed by a member never notifies anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
