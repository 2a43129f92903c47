"""Slack translation without a network: payloads in, core events out; messages out, escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack import translate as tr
from adapters.slack.blocks import (
    answer_modal,
    answered_payload,
    escape,
    message_payload,
    reply_payload,
    text_blocks,
)
from adapters.slack.errors import classify
from adapters.slack.pacing import Gcra, Pacer, Pacing
from adapters.slack.port import api_base
from bot.events import ChoicePicked, CommandReceived, FormSubmitted, MessageReceived
from bot.ports import ChoiceOption, Outgoing, PlatformError, RateLimited, Rejected, Reply

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PINGS = ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S0TEAM>", "<@U0BO>")


def parsed_text(payload: dict[str, Any]) -> str:
    """Every string Slack parses for mentions: the fallback text and all mrkdwn objects."""
    found = [str(payload.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks", []))
    return "\n".join(found)


def event_body(**event: Any) -> dict[str, Any]:
    base = {"type": "message", "user": "U0BERTA", "ts": "1700000000.000200", "team": "T0TEST"}
    return {"team_id": "T0TEST", "event_id": "Ev01", "event": {**base, **event}}


def test_a_thread_reply_in_the_dm_names_its_prompt() -> None:
    body = event_body(
        channel="D0BERTA",
        channel_type="im",
        text="Too little time &amp; money",
        thread_ts="1700000000.000100",
    )
    event = tr.message_event(body, NOW)
    assert event == MessageReceived(
        platform="slack",
        event_id="D0BERTA:1700000000.000200",
        sender="T0TEST:U0BERTA",
        at=datetime.fromtimestamp(1700000000.0002, UTC),
        channel="D0BERTA",
        is_direct=True,
        text="Too little time & money",
        thread="D0BERTA:1700000000.000100",
    )


def test_direct_messages_channel_threads_and_chatter() -> None:
    dm = tr.message_event(event_body(channel="D0BERTA", channel_type="im", text="hi"), NOW)
    assert isinstance(dm, MessageReceived) and dm.is_direct and dm.thread is None
    command = tr.message_event(event_body(channel="D0BERTA", text="mydata export"), NOW)
    assert isinstance(command, CommandReceived)
    assert (command.name, command.args) == ("mydata", "export")
    chatter = event_body(channel="C0GENERAL", channel_type="channel", text="lunch?")
    assert tr.message_event(chatter, NOW) is None
    thread = tr.message_event(
        event_body(channel="C0GENERAL", channel_type="channel", text="12", thread_ts="1.5"), NOW
    )
    assert isinstance(thread, MessageReceived)
    assert thread.thread == "C0GENERAL:1.5" and not thread.is_direct


@pytest.mark.parametrize(
    "extra",
    [{"bot_id": "B0BOT"}, {"subtype": "channel_join"}, {"subtype": "bot_message"}, {"user": None}],
)
def test_the_bots_own_posts_and_other_subtypes_are_ignored(extra: dict[str, Any]) -> None:
    body = event_body(channel="D0BERTA", channel_type="im", text="x", **extra)
    assert tr.message_event(body, NOW) is None


def test_an_edit_points_at_the_message_it_changes() -> None:
    body = event_body(
        channel="D0BERTA",
        subtype="message_changed",
        message={
            "user": "U0BERTA",
            "text": "new",
            "ts": "1.1",
            "thread_ts": "1.0",
            "edited": {"ts": "1.9"},
        },
        previous_message={"user": "U0BERTA", "text": "old", "ts": "1.1"},
    )
    event = tr.message_event(body, NOW)
    assert isinstance(event, MessageReceived)
    assert (event.edits, event.event_id, event.text) == ("D0BERTA:1.1", "Ev01", "new")
    same = {**body, "event": {**body["event"], "previous_message": {"text": "new"}}}
    assert tr.message_event(same, NOW) is None  # an unfurl, not an edit


def test_a_slack_connect_sender_keeps_their_own_team() -> None:
    body = event_body(channel="C0SHARED", text="x", thread_ts="1.0", user_team="T0PARTNER")
    event = tr.message_event(body, NOW)
    assert event is not None and event.sender == "T0PARTNER:U0BERTA"


def action_body(action: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "trigger_id": "111.222",
        "team": {"id": "T0TEST"},
        "user": {"id": "U0BERTA", "team_id": "T0TEST"},
        "container": {"type": "message", "channel_id": "D0BERTA", "message_ts": "1.1"},
        "actions": [{"action_ts": "1700000001.5", **action}],
    }


def test_a_button_and_a_select_become_choices() -> None:
    button = tr.choice_event(action_body({"action_id": "alliance_choice_2", "value": "no"}), NOW)
    assert isinstance(button, ChoicePicked)
    assert (button.message_ref, button.choice, button.event_id) == (
        "D0BERTA:1.1",
        "no",
        "action:111.222",
    )
    picked = action_body({"action_id": tr.ACTION_SELECT, "selected_option": {"value": "k7"}})
    select = tr.choice_event(picked, NOW)
    assert select is not None and select.choice == "k7"
    skip = tr.skip_event(action_body({"action_id": tr.ACTION_SKIP}), NOW)
    assert isinstance(skip, CommandReceived) and skip.thread == "D0BERTA:1.1"


def test_a_modal_submission_and_a_slash_command() -> None:
    view = answer_modal("D0BERTA:1.1", "How many?", "number")
    body = {
        "type": "view_submission",
        "user": {"id": "U0BERTA", "team_id": "T0TEST"},
        "view": {
            **view,
            "id": "V01",
            "state": {"values": {"answer": {"value": {"type": "plain_text_input", "value": "12"}}}},
        },
    }
    form = tr.form_event(body, NOW)
    assert form == FormSubmitted(
        platform="slack",
        event_id="view:V01",
        sender="T0TEST:U0BERTA",
        at=NOW,
        channel="D0BERTA",
        is_direct=True,
        message_ref="D0BERTA:1.1",
        values={"answer": "12"},
    )
    command = tr.command_event(
        {
            "command": "/digest",
            "text": "last week",
            "user_id": "U0BO",
            "team_id": "T0TEST",
            "channel_id": "C0G",
            "trigger_id": "9.9",
        },
        NOW,
    )
    assert command is not None
    assert (command.name, command.args, command.event_id) == ("digest", "last week", "command:9.9")


def test_member_text_echoed_back_can_never_ping() -> None:
    words = " ".join(PINGS) + " & friends"
    payload = reply_payload(Reply("Thank you, recorded.", quoted=words))
    assert not any(ping in parsed_text(payload) for ping in PINGS)
    assert "&lt;!channel&gt;" in payload["text"] and "&amp; friends" in payload["text"]
    prompt = message_payload(
        Outgoing(text=words, title=words, quoted=words, kind="prompt", delivery_id=3)
    )
    assert not any(ping in parsed_text(prompt) for ping in PINGS)
    assert "&lt;!channel&gt;" in parsed_text(prompt)
    assert not any(ping in parsed_text(answered_payload(None, words)) for ping in PINGS)


def test_a_prompt_has_buttons_metadata_and_a_form_for_numbers() -> None:
    choice = message_payload(
        Outgoing(
            "Contact?",
            kind="prompt",
            delivery_id=7,
            answer_kind="choice",
            choices=(ChoiceOption("yes", "Yes"), ChoiceOption("no", "No")),
        )
    )
    actions = next(b for b in choice["blocks"] if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["alliance_choice_1", "alliance_choice_2", "alliance_skip"]
    assert choice["metadata"]["event_payload"] == {
        "kind": "prompt",
        "delivery_id": 7,
        "answer_kind": "choice",
        "locale": "en",
    }
    number = message_payload(
        Outgoing("How many?", kind="reminder", delivery_id=8, answer_kind="number")
    )
    elements = next(b for b in number["blocks"] if b["type"] == "actions")["elements"]
    assert [(e["action_id"], e["value"]) for e in elements] == [
        ("alliance_answer", "number en"),
        ("alliance_skip", "skip"),
    ]
    many = message_payload(
        Outgoing(
            "Pick",
            kind="prompt",
            delivery_id=9,
            choices=tuple(ChoiceOption(str(i), str(i)) for i in range(30)),
        )
    )
    select = next(b for b in many["blocks"] if b["type"] == "actions")["elements"][0]
    assert select["type"] == "static_select" and len(select["options"]) == 30
    assert "metadata" not in reply_payload(Reply("hello"))


def test_a_french_member_gets_french_buttons_hints_and_form() -> None:
    prompt = Outgoing(
        "Combien ?", kind="prompt", delivery_id=8, answer_kind="number", locale="fr-BE"
    )
    payload = message_payload(prompt)
    actions = next(b for b in payload["blocks"] if b["type"] == "actions")
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Répondre", "Passer cette fois"]
    hint = next(b for b in payload["blocks"] if b.get("block_id") == "prompt-hint")
    assert hint["elements"][0]["text"] == "Répondez dans ce fil ou utilisez un bouton."
    kind, _, locale = actions["elements"][0]["value"].partition(" ")
    form = answer_modal("D0BERTA:1.1", "Combien ?", kind, locale=locale)
    assert (form["title"]["text"], form["submit"]["text"]) == ("Point d'étape", "Envoyer")
    assert form["blocks"][-1]["hint"]["text"] == "Un nombre, par exemple 12"
    posted = {"text": payload["text"], "blocks": payload["blocks"], "metadata": payload["metadata"]}
    done = answered_payload(posted, "12")
    assert "✅ Réponse reçue\u00a0: 12" in done["text"]  # French typography
    assert not any(b["type"] == "actions" for b in done["blocks"])


def test_the_cores_own_blocks_are_used_and_still_cannot_ping() -> None:
    provided = [
        {"type": "header", "text": {"type": "plain_text", "text": "Digest 2026-W47"}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": "*Latest* <!channel> <@U1> <https://x.org|x>"}},
    ]  # fmt: skip
    reply = Reply("Digest as text", title="Digest", formats={"slack_blocks": json.dumps(provided)})
    payload = reply_payload(reply)
    assert payload["blocks"][0] == provided[0] and payload["text"] == "Digest\nDigest as text"
    shown = payload["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt;" not in shown and "&lt;!channel>" in shown and "&lt;@U1>" in shown
    assert "<https://x.org|x>" in shown
    broken = reply_payload(Reply("plain", formats={"slack_blocks": "not json"}))
    assert broken["blocks"][0]["text"]["text"] == "plain"


def test_long_and_aligned_text_fits_slacks_limits() -> None:
    blocks = text_blocks("\n".join(f"line {i} " + "x" * 80 for i in range(200)))
    assert len(blocks) > 1 and all(len(b["text"]["text"]) <= 3000 for b in blocks)
    digest = text_blocks("Response\n  Berlin Lib        3 / 4   75%\n  NY Readers        1 / 2")
    assert digest[0]["text"]["text"].startswith("```")
    assert not text_blocks("Thank you.")[0]["text"]["text"].startswith("```")


def test_answered_prompt_keeps_the_question_and_loses_its_buttons() -> None:
    original = message_payload(
        Outgoing("Contact?", kind="prompt", delivery_id=1, choices=(ChoiceOption("yes", "Yes"),))
    )
    updated = answered_payload(original, "Yes")
    types = [b["type"] for b in updated["blocks"]]
    assert "actions" not in types and types[-1] == "context"
    assert "Contact?" in json.dumps(updated) and "Answer received: Yes" in updated["text"]
    again = answered_payload(updated, "No")  # a second answer replaces the note
    assert json.dumps(again).count("Answer received") == 2  # the block and the text


def test_errors_map_onto_the_cores_kinds() -> None:
    limited = classify(429, "ratelimited", {"Retry-After": "7"})
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    assert isinstance(classify(503, None, {}), PlatformError)
    assert isinstance(classify(200, "internal_error", {}), PlatformError)
    for error in ("invalid_auth", "channel_not_found", "user_not_found", "not_in_channel"):
        assert isinstance(classify(200, error, {}), Rejected)
    assert not isinstance(classify(200, "something_new", {}), Rejected)


def test_the_api_url_always_ends_with_api() -> None:
    assert api_base(None) == "https://slack.com/api/"
    assert api_base("http://127.0.0.1:9/api") == "http://127.0.0.1:9/api/"
    assert api_base("http://127.0.0.1:9/") == "http://127.0.0.1:9/api/"


async def test_the_pacer_spaces_slots_and_holds_a_pause() -> None:
    now = [100.0]
    limit = Gcra(per_second=10, burst=2, now=lambda: now[0])
    await limit.acquire()
    await limit.acquire()  # the burst: no wait yet
    assert round(limit.peek(), 3) == 0.1  # the next one waits a tenth of a second
    limit.pause(5)
    assert limit.peek() >= 5
    unlimited = Gcra(0, now=lambda: now[0])
    await unlimited.acquire()
    assert unlimited.peek() == 0
    unlimited.pause(2)
    assert unlimited.peek() == 2  # no limit, but a Retry-After still holds


async def test_a_cosmetic_call_is_dropped_when_its_slot_is_far_off() -> None:
    now = [0.0]
    pacer = Pacer(Pacing(tier3_per_minute=60, tier3_burst=1), now=lambda: now[0])
    assert await pacer.method("chat.update", max_wait=0.5)
    assert not await pacer.method("chat.update", max_wait=0.5)  # next slot in 1 s
    assert await pacer.method("conversations.history", max_wait=0.5)  # its own budget
    now[0] = 1.0
    assert await pacer.method("chat.update", max_wait=0.5)


def test_escape_covers_slacks_three_control_characters() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert tr.unescape(escape("<!here> & co")) == "<!here> & co"


def test_a_button_on_a_reminder_answers_in_the_prompts_thread() -> None:
    body = action_body({"action_id": "alliance_choice_1", "value": "yes"})
    assert tr.thread_root(body) is None
    body["message"] = {"ts": "1.1", "thread_ts": "1.0"}
    assert tr.thread_root(body) == "1.0"
    view = answer_modal("D0BERTA:1.1", "How many?", "number", root="1.0")
    assert view["private_metadata"] == "D0BERTA:1.1 1.0"
    submitted = {"view": {**view, "state": {"values": {"answer": {"value": {"value": "3"}}}}}}
    assert tr.submitted_answer(submitted) == ("D0BERTA:1.1", "3", "1.0")
