"""Slack's markup in a member's message, read as plain text; files and edits, translated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack import translate as tr
from adapters.slack.blocks import reply_payload
from adapters.slack.listeners import plain_name
from adapters.slack.mrkdwn import mentioned, readable
from bot.events import CommandReceived, MessageReceived
from bot.ports import Reply

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("thanks <@U0BO>!", "thanks @Bo!"),
        ("ask <@U0NOBODY>", "ask @U0NOBODY"),
        ("ask <@W0ENT|ana>", "ask @ana"),  # an old client's label, for someone unknown
        (
            "see <https://x.org/a?b=1&amp;c=2|the report>",
            "see the report (https://x.org/a?b=1&c=2)",
        ),
        ("see <https://x.org>", "see https://x.org"),
        ("see <https://x.org|x.org>", "see x.org"),  # Slack linked what was typed
        ("mail <mailto:a@b.org|a@b.org>", "mail a@b.org"),
        ("in <#C123|general> and <#C456>", "in #general and #C456"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S0TEAM|@editors> and <!subteam^S0ALL>", "@editors and @S0ALL"),
        ("on <!date^1700000000^{date}|Nov 14>", "on Nov 14"),
        ("typed &lt;!channel&gt; &amp; more", "typed <!channel> & more"),
        ("a &lt;b&gt; <https://x.org|c &amp; d>", "a <b> c & d (https://x.org)"),
        ("no markup at all", "no markup at all"),
    ],
)
def test_markup_is_stored_as_readable_text(raw: str, stored: str) -> None:
    assert readable(raw, {"U0BO": "Bo"}) == stored


def test_mentions_are_listed_once_in_order() -> None:
    text = "<@U2> <#C1|x> <@U1|one> <!here> <@U2> <@W3> &lt;@U9&gt;"
    assert mentioned(text) == ("U2", "U1", "W3")


def test_readable_text_echoed_back_pings_nobody() -> None:
    text = readable("<!here> <@U0BO> <!subteam^S0ALL|@all>", {"U0BO": "Bo"})
    payload = reply_payload(Reply("Thank you!", quoted=text))
    dumped = str(payload)
    assert "@here @Bo @all" in dumped and "<!" not in dumped and "<@" not in dumped


def test_the_directorys_role_is_not_part_of_a_name() -> None:
    assert plain_name("Ana (admin)") == "Ana"
    assert plain_name("Ana (Berlin) (member)") == "Ana (Berlin)"
    assert plain_name("Bo") == "Bo"


def body(**event: Any) -> dict[str, Any]:
    base = {"type": "message", "user": "U0BERTA", "ts": "1700000000.000200", "team": "T0TEST"}
    return {"team_id": "T0TEST", "event_id": "Ev01", "event": {**base, **event}}


FILES = [{"id": "F0PHOTO", "name": "photo.jpg", "mimetype": "image/jpeg"}]


def test_a_files_caption_is_the_message() -> None:
    shared = body(
        subtype="file_share",
        channel="D0BERTA",
        channel_type="im",
        text="Our stand at the fair, with <@U0BO>",
        thread_ts="1700000000.000100",
        files=FILES,
    )
    event = tr.message_event(shared, NOW, {"U0BO": "Bo"})
    assert isinstance(event, MessageReceived)
    assert (event.text, event.thread) == (
        "Our stand at the fair, with @Bo",
        "D0BERTA:1700000000.000100",
    )
    assert tr.shared_files(shared) == 1 and tr.mentions(shared) == ("U0BO",)
    bare = body(subtype="file_share", channel="D0BERTA", channel_type="im", text="", files=FILES)
    alone = tr.message_event(bare, NOW)
    assert isinstance(alone, MessageReceived) and alone.text == "" and tr.shared_files(bare) == 1
    typed = body(channel="D0BERTA", channel_type="im", text="hi")
    assert tr.shared_files(typed) == 0


def test_a_files_caption_may_be_a_command() -> None:
    shared = body(subtype="file_share", channel="D0BERTA", text="checkin 7", files=FILES)
    event = tr.message_event(shared, NOW)
    assert isinstance(event, CommandReceived) and (event.name, event.args) == ("checkin", "7")


def test_an_edit_without_its_own_ts_names_the_previous_message() -> None:
    edit = body(
        channel="D0BERTA",
        subtype="message_changed",
        message={"user": "U0BERTA", "text": "new <https://x.org|plan>", "edited": {"ts": "1.9"}},
        previous_message={"user": "U0BERTA", "text": "old", "ts": "1.1", "thread_ts": "1.0"},
    )
    event = tr.message_event(edit, NOW)
    assert isinstance(event, MessageReceived)
    assert (event.edits, event.thread, event.text) == (
        "D0BERTA:1.1",
        "D0BERTA:1.0",
        "new plan (https://x.org)",
    )
    assert tr.mentions(body(subtype="message_changed", message={"text": "<@U1>"})) == ("U1",)
    nothing = body(channel="D0BERTA", subtype="message_changed", message={"text": "x"})
    assert tr.message_event(nothing, NOW) is None  # neither message names one
