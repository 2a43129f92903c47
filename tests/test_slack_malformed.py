"""Signed requests with bodies Slack would never send get a 4xx, never a 500 or a traceback, and
the bot goes on answering real ones. Arbitrary event callbacks (hypothesis) never make the bolt
app answer 5xx or store half a record."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.matrix import translate as mx
from adapters.slack import translate as tr
from adapters.slack.guard import malformed
from bot.events import InboundEvent
from bot.storage.records import CheckIn
from tests.harnesses.slack import SlackHarness, message_event, signed, user_of
from tests.test_slack_adapter import h

__all__ = ["h"]  # the Slack harness fixture, shared with test_slack_adapter


BAD = [
    ("{not json", "application/json"),
    ("[]", "application/json"),
    ('"a string"', "application/json"),
    ('{"type": "event_callback", "event": "x"}', "application/json"),
    ("payload=%7Bnot", "application/x-www-form-urlencoded"),
    ("payload=%5B1%5D", "application/x-www-form-urlencoded"),
]


async def test_malformed_signed_bodies_get_a_400_and_no_traceback(
    h: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for body, content_type in BAD:
        status, text = await h.slack.raw(body, content_type, signed(body))
        assert status == 400 and "Malformed request" in text, (body, status, text)
    raw = b"\xff\xfe{}"
    async with h.slack.session.post(
        h.slack.url,
        data=raw,
        headers={"Content-Type": "application/json", **signed(raw.decode("latin-1"))},
    ) as response:
        assert response.status == 400
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    status, _ = await h.slack.raw("{not json", "application/json")  # unsigned: bolt's 401
    assert status == 401
    event = message_event(user_of("berta"), "D0BERTA", "help")
    assert (await h.slack.event(event))[0] == 200  # and the bot still answers
    await h.adapter.idle()
    assert await h.runtime.replies_sent()
    assert h.fake.channel("D0BERTA")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
event_fields = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["message", "app_mention", "reaction_added", "app_home_opened"])
        | st.text(max_size=12),
        "subtype": st.sampled_from(["file_share", "message_changed", "bot_message"]) | json_values,
        "user": st.sampled_from([user_of("berta"), "U0NOBODY", ""]) | json_values,
        "channel": st.sampled_from(["D0BERTA", "C0GENERAL", ""]) | json_values,
        "text": st.text(max_size=60) | json_values,
        "ts": st.sampled_from(["1.000001", "x", ""]) | json_values,
        "thread_ts": st.sampled_from(["1.000001", "nope"]) | json_values,
        "files": json_values,
    },
)


def test_the_guard_never_raises_on_any_bytes() -> None:
    @given(st.binary(max_size=200), st.sampled_from(["application/json", "x-www-form"]))
    def check(body: bytes, content_type: str) -> None:
        assert malformed(body, content_type) in (None, *[p for p in PROBLEMS])

    PROBLEMS = (
        "the body is not UTF-8",
        "the body is not a JSON object",
        "its event is not an object",
        "its payload is not a JSON object",
    )
    check()


SLACK_TRANSLATIONS = (
    tr.message_event,
    tr.choice_event,
    tr.skip_event,
    tr.form_event,
    tr.command_event,
    tr.command_button,
    tr.reaction_event,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event": event_fields | json_values,
            "team_id": json_values,
            "team": json_values,
            "user": json_values,
            "actions": json_values,
            "view": json_values,
            "container": json_values,
            "message": json_values,
            "channel": json_values,
            "command": json_values,
            "text": json_values,
            "user_id": json_values,
        },
    )
)
def test_slack_translation_of_any_payload_is_an_event_or_nothing(body: dict[str, Any]) -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    for translate in SLACK_TRANSLATIONS:
        found = translate(body, now)
        assert found is None or isinstance(found, InboundEvent)
    tr.team_of(body)
    tr.home_opened(body)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "sender": st.sampled_from(["@berta:localhost", "@bot:localhost"]) | json_values,
            "event_id": st.sampled_from(["$e1", ""]) | json_values,
            "type": st.sampled_from(["m.room.message", "m.reaction", "m.room.encrypted"])
            | json_values,
            "origin_server_ts": json_values,
            "content": st.fixed_dictionaries(
                {},
                optional={
                    "msgtype": st.sampled_from(["m.text", "m.image", "m.notice"]) | json_values,
                    "body": json_values,
                    "m.relates_to": json_values,
                    "m.new_content": json_values,
                },
            )
            | json_values,
        },
    ),
    st.booleans(),
)
def test_matrix_translation_of_any_event_is_an_event_or_nothing(
    source: dict[str, Any], is_direct: bool
) -> None:
    found = mx.inbound(source, room_id="!room", own_user_id="@bot:localhost", is_direct=is_direct)
    assert found is None or isinstance(found, InboundEvent)


async def test_odd_event_callbacks_get_no_5xx_and_store_nothing_half(h: SlackHarness) -> None:
    odd: list[dict[str, Any]] = [
        {},
        {"type": "message"},
        {"type": "message", "user": user_of("berta"), "channel": "D0BERTA", "text": None},
        {"type": "message", "user": user_of("berta"), "channel": 7, "text": "x", "ts": "x"},
        {"type": "message", "subtype": "file_share", "user": user_of("berta")},
        {"type": "message", "user": ["a"], "channel": {"a": 1}, "text": {"t": 1}},
        {"type": "reaction_added", "item": "x", "reaction": 3},
        {"type": "app_home_opened", "user": None},
        {"type": "message", "user": user_of("berta"), "channel": "D0BERTA", "text": "x",
         "thread_ts": "nope"},
    ]  # fmt: skip
    for fields in odd:
        body = message_event(user_of("berta"), "D0BERTA", "x")
        body["event"] = fields
        text = json.dumps(body)
        status, _ = await h.slack.raw(text, "application/json", signed(text))
        assert status < 500, (fields, status)
    await h.adapter.idle()
    async with h.runtime.db.session() as s:
        half = await s.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.answer_text.is_(None))
        )
    assert half == 0
