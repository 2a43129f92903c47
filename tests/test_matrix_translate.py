"""The Matrix adapter's pure translation, driven by event JSON as Synapse and Element send it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.matrix import translate
from adapters.matrix.media import file_content
from bot.events import (
    STAR,
    ChoicePicked,
    CommandReceived,
    MessageReceived,
    Reacted,
    Retracted,
    Undecryptable,
)
from bot.ports import ChoiceOption, Outgoing, Reply

BOT = "@alliancebot:localhost"
ROOM = "!dm:localhost"
PROMPT = "$prompt"


def event(content: dict[str, Any], kind: str = "m.room.message", **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": extra.pop("event_id", "$answer"),
        "sender": extra.pop("sender", "@berta:localhost"),
        "origin_server_ts": 1_795_000_000_000,
        "content": content,
        **extra,
    }


def inbound(source: dict[str, Any], is_direct: bool = True) -> Any:
    return translate.inbound(source, room_id=ROOM, own_user_id=BOT, is_direct=is_direct)


def test_a_thread_reply_as_element_sends_it() -> None:
    got = inbound(
        event(
            {
                "msgtype": "m.text",
                "body": "Too little time.",
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": PROMPT,
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": PROMPT},
                },
            }
        )
    )
    assert got == MessageReceived(
        platform="matrix",
        event_id="$answer",
        sender="@berta:localhost",
        at=datetime.fromtimestamp(1_795_000_000, tz=UTC),
        channel=ROOM,
        is_direct=True,
        text="Too little time.",
        thread=PROMPT,
    )


def test_a_reply_inside_a_thread_keeps_both_references() -> None:
    got = inbound(
        event(
            {
                "msgtype": "m.text",
                "body": "to the reminder",
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": PROMPT,
                    "is_falling_back": False,
                    "m.in_reply_to": {"event_id": "$reminder"},
                },
            }
        )
    )
    assert (got.thread, got.in_reply_to) == (PROMPT, "$reminder")


def test_a_rich_reply_loses_the_quoted_fallback() -> None:
    got = inbound(
        event(
            {
                "msgtype": "m.text",
                "body": "> <@alliancebot:localhost> Name a barrier\n> second line\n\nNo budget.",
                "m.relates_to": {"m.in_reply_to": {"event_id": PROMPT}},
            }
        )
    )
    assert isinstance(got, MessageReceived)
    assert (got.text, got.in_reply_to, got.thread) == ("No budget.", PROMPT, None)


def test_an_edit_carries_the_new_text_and_the_original_id() -> None:
    got = inbound(
        event(
            {
                "msgtype": "m.text",
                "body": "* Too little time, and no calendar.",
                "m.new_content": {"msgtype": "m.text", "body": "Too little time, and no calendar."},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$first"},
            },
            event_id="$edit",
        )
    )
    assert isinstance(got, MessageReceived)
    assert (got.text, got.edits, got.event_id) == (
        "Too little time, and no calendar.",
        "$first",
        "$edit",
    )


def test_a_keycap_reaction_picks_that_number() -> None:
    for key in ("2\ufe0f\u20e3", "2\u20e3"):
        got = inbound(
            event(
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": PROMPT, "key": key}},
                kind="m.reaction",
            )
        )
        assert isinstance(got, ChoicePicked)
        assert (got.message_ref, got.choice) == (PROMPT, "2")
    assert translate.keycap_number("\U0001f51f") == 10
    other = event(
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": PROMPT, "key": "👍"}},
        kind="m.reaction",
    )
    assert inbound(other) is None


def test_a_star_reaction_and_its_redaction() -> None:
    for key in ("\u2b50", "\u2b50\ufe0f", "\U0001f31f"):
        got = inbound(
            event(
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$answer", "key": key}},
                kind="m.reaction",
                event_id="$star",
                sender="@bo:localhost",
            ),
            is_direct=False,
        )
        assert isinstance(got, Reacted)
        assert (got.message_ref, got.key, got.event_id, got.removed) == (
            "$answer",
            STAR,
            "$star",
            False,
        )
    v11 = event({"redacts": "$star"}, kind="m.room.redaction", event_id="$undo")
    older = event({}, kind="m.room.redaction", event_id="$undo", redacts="$star")
    for source in (v11, older):
        got = inbound(source, is_direct=False)
        assert isinstance(got, Retracted) and got.target == "$star"


def test_commands_notices_own_events_and_undecryptable() -> None:
    got = inbound(event({"msgtype": "m.text", "body": "!Digest last week berlin-lib"}))
    assert isinstance(got, CommandReceived)
    assert (got.name, got.args) == ("digest", "last week berlin-lib")
    assert inbound(event({"msgtype": "m.notice", "body": "another bot"})) is None
    assert inbound(event({"msgtype": "m.text", "body": "mine"}, sender=BOT)) is None
    assert (
        inbound(event({"msgtype": "m.text", "body": "! not a command"})).text == "! not a command"
    )
    encrypted = event(
        {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgA",
            "session_id": "x",
            "sender_key": "y",
            "device_id": "D",
        },
        kind="m.room.encrypted",
    )
    assert isinstance(inbound(encrypted), Undecryptable)


def test_a_bare_command_word_atop_a_direct_chat_is_the_command() -> None:
    """Issue 15: “checkin Our barrier is funding” in a direct chat was stored literally."""
    got = inbound(event({"msgtype": "m.text", "body": "checkin Our barrier is funding"}))
    assert isinstance(got, CommandReceived)
    assert (got.name, got.args) == ("checkin", "Our barrier is funding")
    thread = {"rel_type": "m.thread", "event_id": PROMPT, "is_falling_back": True}
    in_thread = event({"msgtype": "m.text", "body": "help wanted", "m.relates_to": thread})
    assert isinstance(inbound(in_thread), MessageReceived)  # in a thread it is an answer
    room = inbound(event({"msgtype": "m.text", "body": "help"}), is_direct=False)
    assert isinstance(room, MessageReceived)  # in a shared room, only !help is a command
    plain = inbound(event({"msgtype": "m.text", "body": "Checking in: all good"}))
    assert isinstance(plain, MessageReceived)


def test_member_text_is_escaped_and_mentions_nobody() -> None:
    reply = Reply("Thank you! Recorded:", quoted="@room <b>look</b> & <a href='x'>here</a>")
    content = translate.reply_content(reply, answering="$answer")
    assert content["m.mentions"] == {}
    assert "<b>" not in content["formatted_body"] and "<a " not in content["formatted_body"]
    assert "&lt;b&gt;look&lt;/b&gt; &amp; &lt;a href='x'&gt;" in content["formatted_body"]
    assert "> @room <b>look</b>" in content["body"]
    assert content[translate.REPLY_TO_KEY] == "$answer"
    assert content[translate.KIND_KEY] == "reply"
    shared = translate.reply_content(reply, answering="$a", reply_to="$a", mentions=["@bo:x"])
    assert shared["m.mentions"] == {"user_ids": ["@bo:x"]}
    assert shared["m.relates_to"] == {"m.in_reply_to": {"event_id": "$a"}}


def test_a_prompt_with_choices_numbers_them_with_keycaps() -> None:
    message = Outgoing(
        text="Have you been in touch <with> an international body?",
        title="Check-in: Daily",
        kind="prompt",
        choices=(ChoiceOption("yes", "Yes"), ChoiceOption("no", "No")),
        answer_kind="choice",
    )
    content = translate.outgoing_content(message, thread="$root")
    assert content["body"].splitlines() == [
        "Check-in: Daily",
        "Have you been in touch <with> an international body?",
        "1\ufe0f\u20e3 Yes",
        "2\ufe0f\u20e3 No",
    ]
    assert content["formatted_body"].startswith("<strong>Check-in: Daily</strong><br>")
    assert "&lt;with&gt;" in content["formatted_body"]
    assert content["m.mentions"] == {} and content[translate.KIND_KEY] == "prompt"
    assert [o["key"] for o in content[translate.CHOICES_KEY]] == ["yes", "no"]
    assert content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$root"},
    }


def test_a_scale_reacts_with_its_own_values() -> None:
    scale = tuple(ChoiceOption(str(v), str(v)) for v in range(0, 11))
    assert translate.option_numbers(scale, "scale") == list(range(11))
    assert translate.option_numbers(scale[1:6], "scale") == [1, 2, 3, 4, 5]
    assert translate.option_numbers(scale[:3], "choice") == [1, 2, 3]


def test_invites_files_and_transaction_ids() -> None:
    stripped = [
        {"type": "m.room.name", "sender": "@x:y", "state_key": "", "content": {"name": "n"}},
        {
            "type": "m.room.member",
            "sender": "@bo:localhost",
            "state_key": BOT,
            "content": {"membership": "invite", "is_direct": True},
        },
    ]
    assert translate.invite_of(stripped, BOT) == ("@bo:localhost", True)
    assert translate.invite_of(stripped[:1], BOT) is None
    png = (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\x0dIHDR"
        + (640).to_bytes(4, "big")
        + (480).to_bytes(4, "big")
    )
    image = file_content(
        filename="chart.png",
        mime_type="image/png",
        size=99,
        caption="Responses",
        url="mxc://localhost/abc",
        data_head=png,
    )
    assert image["msgtype"] == "m.image" and image["url"] == "mxc://localhost/abc"
    assert (image["info"]["w"], image["info"]["h"]) == (640, 480)
    secret = file_content(
        filename="me.csv",
        mime_type="text/csv",
        size=3,
        caption="",
        encrypted_file={"url": "mxc://localhost/e", "key": {}, "iv": "", "hashes": {}, "v": "v2"},
    )
    assert secret["msgtype"] == "m.file" and "url" not in secret and secret["file"]["v"] == "v2"
    assert translate.transaction_id("daily:1", "a") == translate.transaction_id("daily:1", "a")
    assert translate.transaction_id("daily:1", "a") != translate.transaction_id("daily:1", "b")
    assert translate.transaction_id(None) is None
    assert translate.direct_rooms({"@a:b": ["!r", 3], "junk": "x"}) == {"@a:b": ["!r"]}


def test_a_digest_goes_out_as_the_cores_html_with_member_text_escaped() -> None:
    from adapters.matrix.digest_html import DigestRenderer
    from bot.digest.model import Answer, Digest
    from bot.domain.periods import Period

    digest = Digest(
        "Alliance",
        Period.parse_key("2026-W48"),
        "UTC",
        (),
        (),
        (),
        highlights=(Answer(1, "Org", "Ann", "Q?", "@room <b>look</b>"),),
    )
    renderer = DigestRenderer()
    reply = Reply(renderer.text(digest), formats=renderer.formats(digest))
    content = translate.reply_content(reply, answering="$event")
    assert content["formatted_body"].startswith("<h3>Alliance digest")
    assert "&lt;b&gt;look&lt;/b&gt;" in content["formatted_body"]
    assert "<b>look</b>" not in content["formatted_body"]
    assert content["m.mentions"] == {}


def test_a_prompt_says_how_to_answer_in_the_members_language() -> None:
    choices = (ChoiceOption("yes", "Sí"), ChoiceOption("no", "No"))
    prompt = Outgoing("¿Contacto?", kind="prompt", delivery_id=4, choices=choices, locale="es")
    content = translate.outgoing_content(prompt)
    hint = "Responda en este hilo, o reaccione con el número de su elección."
    assert content["body"].endswith(hint) and hint in content["formatted_body"]
    text = translate.outgoing_content(Outgoing("Name one", kind="reminder", delivery_id=5))
    assert text["body"].endswith("Reply in this thread.")
    assert "Reply in" not in translate.outgoing_content(Outgoing("Hello"))["body"]


def test_media_is_a_message_with_one_file_and_its_caption_as_text() -> None:
    """Spec v1.10: ``body`` is a caption only when a ``filename`` differs from it."""
    image = {"msgtype": "m.image", "url": "mxc://localhost/x", "filename": "hours.png"}
    cases = [
        ({**image, "body": "Our opening hours."}, "Our opening hours."),
        ({**image, "body": "hours.png"}, ""),
        ({"msgtype": "m.file", "url": "mxc://localhost/x", "body": "report.pdf"}, ""),
    ]
    for content, text in cases:
        got = inbound(event(content))
        assert isinstance(got, MessageReceived)
        assert (got.text, got.files) == (text, 1)
    assert inbound(event({"msgtype": "m.location", "body": "here", "geo_uri": "geo:1,2"})) is None
    assert inbound(event({"msgtype": "m.text", "body": "plain"})).files == 0
