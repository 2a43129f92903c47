"""Answers the Slack way, end to end: a photo with its caption, mentions and links, and an edit
that names its message only in ``previous_message``."""

from __future__ import annotations

import json
from typing import Any

from bot.ingest import FILE_NOT_KEPT as NOT_KEPT
from bot.ingest import FILE_WITHOUT_WORDS as WITHOUT_WORDS
from tests.fakeslack_parts import Message
from tests.harnesses.slack import SlackHarness, message_event
from tests.test_slack_adapter import checkins, h, prompts

__all__ = ["h"]  # the Slack harness fixture, shared with test_slack_adapter

PHOTO = {"id": "F0PHOTO", "name": "stand.jpg", "mimetype": "image/jpeg", "filetype": "jpg"}


def in_thread(prompt: Message, raw_text: str, **extra: Any) -> dict[str, Any]:
    """Berta's message in the prompt's thread, with Slack's own markup in ``raw_text``."""
    body = message_event("U0BERTA", prompt.channel, "", thread_ts=prompt.ts)
    body["event"].update(text=raw_text, **extra)
    return body


FILE_NOT_KEPT = str(NOT_KEPT)
FILE_WITHOUT_WORDS = str(WITHOUT_WORDS)


def with_photo(prompt: Message, caption: str) -> dict[str, Any]:
    return in_thread(prompt, caption, subtype="file_share", files=[PHOTO], upload=True)


async def test_a_photos_caption_is_the_answer_and_the_photo_is_not_kept(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    replies = await h.replies_to(h.slack.event(with_photo(text, "Our stand at the fair")))
    assert any("Thank you" in r for r in replies) and FILE_NOT_KEPT in replies, replies
    [checkin] = await checkins(h)
    assert (checkin.answer_text, checkin.source) == ("Our stand at the fair", "thread")
    [note] = [
        c.body
        for c in h.fake.method_calls("chat.postMessage")
        if c.body.get("text") == FILE_NOT_KEPT
    ]
    assert note["thread_ts"] == text.ts and note["channel"] == text.channel


async def test_a_photo_without_words_asks_for_typed_words(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    replies = await h.replies_to(h.slack.event(with_photo(text, "")))
    assert replies == [FILE_WITHOUT_WORDS]
    assert await checkins(h) == []


async def test_mentions_and_links_are_stored_as_names_and_plain_links(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    raw = (
        "<@U0BO> and <@U0NOBODY> shared <https://x.org/plan|the plan> in <#C0GENERAL|general>, "
        "<https://y.org> <!here>"
    )
    replies = await h.replies_to(h.slack.event(in_thread(text, raw)))
    assert "Thank you" in replies[0]
    [checkin] = await checkins(h)
    assert checkin.answer_text == (
        "@Bo and @U0NOBODY shared the plan (https://x.org/plan) in #general, https://y.org @here"
    )
    echoed = [c.body for c in h.fake.method_calls("chat.postMessage") if c.body.get("thread_ts")]
    dumped = json.dumps(echoed)
    assert "@Bo and @U0NOBODY" in dumped and "<!" not in dumped and "<@" not in dumped


async def test_an_edit_without_message_ts_revises_the_check_in(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    first = in_thread(text, "Too little time.")
    await h.replies_to(h.slack.event(first))
    original = first["event"]
    edit = {
        "type": "message", "subtype": "message_changed", "channel": text.channel,
        "event_ts": "1700000099.000001", "ts": "1700000099.000001",
        "message": {"type": "message", "user": "U0BERTA",
                    "text": "Too little time and <@U0BO> agrees.",
                    "edited": {"user": "U0BERTA", "ts": "1700000099.0"}},
        "previous_message": {"type": "message", "user": "U0BERTA", "text": original["text"],
                             "ts": original["ts"], "thread_ts": text.ts},
    }  # fmt: skip
    body = {"team_id": "T0TEST", "event_id": "EvEDIT2", "type": "event_callback", "event": edit}
    replies = await h.replies_to(h.slack.event(body))
    assert "Updated" in replies[0]
    [checkin] = await checkins(h)
    assert checkin.answer_text == "Too little time and @Bo agrees." and checkin.edited_at
