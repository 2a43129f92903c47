"""The Slack adapter end to end: signed requests into the real bolt app, a fake Web API out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.slack.adapter import REFUSED
from bot.storage.records import CheckIn, ProcessedEvent
from tests.fakeslack import FakeSlack
from tests.fakeslack_parts import Message, dm_of
from tests.harness import with_accounts
from tests.harnesses.slack import (
    SlackHarness,
    block_action,
    choice_actions,
    command_form,
    eventually,
    message_event,
    signed,
    user_of,
    view_submission,
)

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
ALLIANCE = with_accounts("""\
alliance: {name: Slack Test, default_timezone: UTC}
organisations:
  - {slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: Europe/Berlin}
  - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: Europe/Berlin}
members:
  - {id: berta, name: Berta, organisation: berlin-lib, reporting: true, <<berta>>}
  - {id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}
measures:
  - {key: digital_skills_sessions, name: Digital-skills sessions, unit: sessions, target: 30}
campaigns:
  - key: everything
    name: Everything
    ask: all at once                # these tests answer the three prompts in any order
    prompts: [backbone-international-contact, name-a-barrier]
    measures: [digital_skills_sessions]
    audience: {members: [berta]}
    schedule: "0 9 * * *"
    timezone: UTC
""")


async def make(
    request: pytest.FixtureRequest, tmp_path: Path, url: str, fake: FakeSlack | None = None
) -> SlackHarness:
    h = await SlackHarness.create(request, tmp_path, url, START, ALLIANCE, fake=fake)
    await h.runtime.start()
    return h


@pytest.fixture
async def h(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_url: str
) -> AsyncIterator[SlackHarness]:
    harness = await make(request, tmp_path, sqlite_url)
    try:
        yield harness
    finally:
        await harness.runtime.stop()
        await harness.stop()


async def prompts(h: SlackHarness) -> dict[str, Message]:
    """Fire the campaign; berta's three prompts by answer kind."""
    await h.runtime.advance(NINE)
    found: dict[str, Message] = {}
    for message in h.fake.channel(dm_of("U0BERTA")):
        meta = (message.posted.get("metadata") or {}).get("event_payload", {})
        found[meta.get("answer_kind", "")] = message
    assert set(found) == {"choice", "text", "number"}, found
    return found


async def checkins(h: SlackHarness) -> list[CheckIn]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(CheckIn).order_by(CheckIn.id))).all())


async def processed(h: SlackHarness) -> int:
    async with h.runtime.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


def button(message: Message, action_id: str) -> dict[str, Any]:
    for block in message.posted["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"] == action_id:
                return {**element, "block_id": block["block_id"]}
    raise AssertionError(f"no {action_id} button")


async def test_a_button_answer_is_a_check_in_and_the_prompt_shows_it(h: SlackHarness) -> None:
    choice = (await prompts(h))["choice"]
    labels = [a["text"]["text"] for a in choice_actions(choice)]
    assert labels == ["Yes", "No", "Not sure"]
    replies = await h.pick("berta", choice.ref, "Not sure")
    assert "Thank you" in replies[0] and "Not sure" in replies[0]
    [checkin] = await checkins(h)
    assert (checkin.answer_choice, checkin.source) == ("unsure", "button")
    await eventually(lambda: choice.updates == 1)  # the prompt is updated in the background
    assert choice.updates == 1 and "Answer received: Not sure" in choice.text
    assert not any(b["type"] == "actions" for b in choice.blocks)
    [posted] = [c for c in h.fake.method_calls("chat.postMessage") if c.body.get("thread_ts")]
    assert posted.body["thread_ts"] == choice.ts  # the thank-you goes in the prompt's thread


async def test_a_modal_answer_refuses_a_non_number_inline(h: SlackHarness) -> None:
    number = (await prompts(h))["number"]
    payload = block_action("U0BERTA", number, button(number, "alliance_answer"))
    assert (await h.slack.interaction(payload))[0] == 200
    await h.adapter.idle()
    [view] = h.fake.views
    assert view["private_metadata"] == number.ref
    assert "sessions" in json.dumps(view["blocks"])  # the question is shown in the form
    status, body = await h.slack.interaction(
        view_submission("U0BERTA", view, "about twelve", view_id="V0FORM")
    )
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert "number" in answer["errors"]["answer"]
    await h.adapter.idle()
    assert await checkins(h) == [] and await processed(h) == 0
    replies = await h.replies_to(
        h.slack.interaction(view_submission("U0BERTA", view, "12", view_id="V0FORM"))
    )
    assert "Thank you" in replies[0]
    [checkin] = await checkins(h)
    assert (checkin.answer_number, checkin.source) == (12, "form")


async def test_a_thread_reply_and_slash_checkin_are_check_ins(h: SlackHarness) -> None:
    found = await prompts(h)
    replies = await h.reply("berta", found["text"].ref, "Calendars never match.")
    assert "Thank you" in replies[0]
    replies = await h.command("berta", "checkin", "7")  # the number prompt is the latest open
    assert "Thank you" in replies[0]
    rows = await checkins(h)
    assert [(c.source, c.answer_text) for c in rows] == [
        ("thread", "Calendars never match."),
        ("command", "7"),
    ]
    # The slash command's reply went to its response_url, seen by berta alone.
    assert h.fake.ephemerals == []
    answered = h.fake.responses.posted[-1]
    assert "Thank you" in answered.text and answered.body.get("response_type") != "in_channel"


async def test_a_retried_event_stores_one_check_in(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    body = json.dumps(message_event("U0BERTA", text.channel, "Only once", thread_ts=text.ts))
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    first, *again = await asyncio.gather(
        h.slack.raw(body, "application/json", signed(body)),
        h.slack.raw(body, "application/json", {**signed(body), **retry}),
        h.slack.raw(body, "application/json", {**signed(body), **retry}),
    )
    assert first[0] == 200 and all(status == 200 for status, _ in again)
    await h.adapter.idle()
    later = await h.slack.raw(body, "application/json", {**signed(body), "X-Slack-Retry-Num": "3"})
    assert later[0] == 200
    await h.adapter.idle()
    assert await h.runtime.replies_sent()
    assert [c.answer_text for c in await checkins(h)] == ["Only once"]
    replies = [c.body["text"] for c in h.fake.method_calls("chat.postMessage")
               if c.body.get("thread_ts")]  # fmt: skip
    assert len(replies) == 1 and "Thank" in replies[0], replies


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=bad"},
        {},
        "wrong secret",
        "stale",
    ],
)
async def test_unsigned_or_stale_requests_are_refused_and_store_nothing(
    h: SlackHarness, headers: dict[str, str] | str
) -> None:
    text = (await prompts(h))["text"]
    body = json.dumps(message_event("U0BERTA", text.channel, "Sneaky", thread_ts=text.ts))
    if headers == "wrong secret":
        headers = signed(body, secret="not-the-secret")
    elif headers == "stale":
        headers = signed(body, timestamp=time.time() - 6 * 60)
    assert isinstance(headers, dict)
    status, _ = await h.slack.raw(body, "application/json", headers)
    assert status == 401
    await h.adapter.idle()
    assert await checkins(h) == [] and await processed(h) == 0
    assert not [c for c in h.fake.method_calls("chat.postMessage") if c.body.get("thread_ts")]


async def test_channel_in_an_answer_pings_nobody_when_echoed(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    answer = "<!channel> <!here> <!everyone> <!subteam^S0ALL> <@U0BO> & more"
    await h.reply("berta", text.ref, answer)
    [checkin] = await checkins(h)
    assert checkin.answer_text == answer  # stored as typed
    await eventually(lambda: bool(h.fake.method_calls("chat.update")))
    echoed = [c.body for c in h.fake.method_calls("chat.postMessage") if c.body.get("thread_ts")]
    updated = [c.body for c in h.fake.method_calls("chat.update")]
    assert echoed and updated
    for body in echoed + updated:
        dumped = json.dumps(body)
        assert "<!" not in dumped and "<@" not in dumped, dumped
        assert "&lt;!channel&gt;" in dumped and "&amp; more" in dumped


async def test_a_slow_database_still_gets_the_command_acked_in_time(
    h: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await h.command("bo", "digest")  # warms the workspace check
    release = asyncio.Event()
    handle, home = h.runtime.handle, h.runtime.directory.has_accounts_starting

    async def slow_handle(event: Any, to: Any = None) -> Any:
        await release.wait()
        return await handle(event, to)

    async def slow_lookup(*args: Any) -> bool:
        await release.wait()
        return await home(*args)

    monkeypatch.setattr(h.runtime, "handle", slow_handle)
    monkeypatch.setattr(h.runtime.directory, "has_accounts_starting", slow_lookup)
    started = time.monotonic()
    status, _ = await asyncio.wait_for(h.slack.form(command_form("U0BO", "/digest")), 3)
    assert status == 200 and time.monotonic() - started < 1.0
    assert not h.fake.ephemerals  # nothing answered yet: the database is still busy
    release.set()
    await h.adapter.idle()
    assert await h.runtime.replies_sent()
    assert "Response by organisation" in h.fake.ephemerals[0].text  # no response_url: ephemeral


async def test_another_workspace_is_refused(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    form = command_form("U0BERTA", "/checkin", "5", team="T0OTHER")
    status, body = await h.slack.form(form)
    assert (status, body) == (200, REFUSED)
    event = message_event("U0BERTA", text.channel, "hi", thread_ts=text.ts, team="T0OTHER")
    assert await h.slack.event(event) == (200, "")
    await h.adapter.idle()
    assert await checkins(h) == [] and await processed(h) == 0


async def test_skip_export_and_the_app_home(h: SlackHarness) -> None:
    found = await prompts(h)
    skipped = await h.replies_to(
        h.slack.interaction(
            block_action("U0BERTA", found["number"], button(found["number"], "alliance_skip"))
        )
    )
    assert "Skipped" in skipped[0]
    await h.pick("berta", found["choice"].ref, "1")
    await h.replies_to(h.slack.event(message_event("U0BERTA", "D0BERTA", "mydata export")))
    [upload] = [f for f in h.fake.files.values() if f.get("channel")]
    assert upload["channel"] == "D0BERTA" and b"backbone-international-contact" in upload["content"]
    home = {"type": "app_home_opened", "user": "U0BERTA", "channel": "D0BERTA", "tab": "home"}
    await h.replies_to(
        h.slack.event(
            {"team_id": "T0TEST", "event_id": "EvH", "type": "event_callback", "event": home}
        )
    )
    view = json.dumps(h.fake.homes["U0BERTA"])
    assert "been in touch with an international body" in view and "Everything" in view
    assert "backbone-international-contact" not in view  # the question, not its id
    assert user_of("bo") not in h.fake.homes


async def test_replies_reach_the_dm_where_the_bot_is_not_in_the_channel(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_url: str
) -> None:
    h = await make(request, tmp_path, sqlite_url, FakeSlack(member_of=frozenset()))
    try:
        # A command that came without a usable response_url, in a channel the bot is not in.
        replies = await h.replies_to(h.slack.form(command_form("U0BO", "/digest")))
        assert "Response by organisation" in replies[-1]
        assert h.fake.channel(dm_of("U0BO"))[-1].text.startswith("Digest")
    finally:
        await h.runtime.stop()
        await h.stop()


async def test_slack_checks_the_events_url_and_bolt_answers_the_challenge(h: SlackHarness) -> None:
    challenge = {"token": "legacy", "challenge": "c0ffee", "type": "url_verification"}
    status, body = await h.slack.event(challenge)
    assert status == 200 and "c0ffee" in body


async def test_editing_a_thread_answer_revises_the_check_in(h: SlackHarness) -> None:
    text = (await prompts(h))["text"]
    first = message_event("U0BERTA", text.channel, "Too little time.", thread_ts=text.ts)
    await h.replies_to(h.slack.event(first))
    original = first["event"]
    edit = {
        "type": "message", "subtype": "message_changed", "channel": text.channel,
        "event_ts": "1700000099.000001", "ts": "1700000099.000001",
        "message": {"type": "message", "user": "U0BERTA", "team": "T0TEST",
                    "text": "Too little time, and no calendar.", "ts": original["ts"],
                    "thread_ts": text.ts, "edited": {"user": "U0BERTA", "ts": "1700000099.0"}},
        "previous_message": {"type": "message", "user": "U0BERTA", "text": original["text"],
                             "ts": original["ts"], "thread_ts": text.ts},
    }  # fmt: skip
    body = {"team_id": "T0TEST", "event_id": "EvEDIT1", "type": "event_callback", "event": edit}
    replies = await h.replies_to(h.slack.event(body))
    assert "Updated" in replies[0]
    [checkin] = await checkins(h)
    assert checkin.answer_text == "Too little time, and no calendar." and checkin.edited_at


async def test_a_reply_survives_a_short_slack_outage(h: SlackHarness) -> None:
    """Slack answers 500 twice: the digest asked for in the DM still arrives, once, through
    the outbox's retries (the harness's policy backs off about a minute, then two)."""
    h.fake.fail("chat.postMessage", 500, times=2)
    status, _ = await h.slack.event(message_event("U0BO", dm_of("U0BO"), "digest"))
    assert status == 200
    await h.adapter.idle()
    for _ in range(3):
        await h.runtime.advance(h.clock.now() + timedelta(minutes=3))
    assert await h.runtime.replies_sent()
    replies = [c.body.get("text", "") for c in h.fake.method_calls("chat.postMessage") if c.ok]
    assert len(replies) == 1 and "Response by organisation" in replies[0]
    failed = [c for c in h.fake.method_calls("chat.postMessage") if c.status == 500]
    assert len(failed) == 2
    assert len(h.fake.channel(dm_of("U0BO"))) == 1
