"""Slack payloads a member sends, translated: edits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.slack import translate as tr
from bot.events import MessageReceived

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def body(**event: Any) -> dict[str, Any]:
    base = {"type": "message", "user": "U0BERTA", "ts": "1700000000.000200", "team": "T0TEST"}
    return {"team_id": "T0TEST", "event_id": "Ev01", "event": {**base, **event}}


def test_an_edit_without_its_own_ts_names_the_previous_message() -> None:
    edit = body(
        channel="D0BERTA",
        subtype="message_changed",
        message={"user": "U0BERTA", "text": "new", "edited": {"ts": "1.9"}},
        previous_message={"user": "U0BERTA", "text": "old", "ts": "1.1", "thread_ts": "1.0"},
    )
    event = tr.message_event(edit, NOW)
    assert isinstance(event, MessageReceived)
    assert (event.edits, event.thread, event.text) == (
        "D0BERTA:1.1",
        "D0BERTA:1.0",
        "new",
    )
    nothing = body(channel="D0BERTA", subtype="message_changed", message={"text": "x"})
    assert tr.message_event(nothing, NOW) is None  # neither message names one
