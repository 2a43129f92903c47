"""Choice prompts as native Matrix polls (MSC3381), as Element shows and answers them: the
poll's content and the votes' translation from JSON, then votes by real nio clients on a real
Synapse, in encrypted direct chats; and ``reactions`` mode, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from adapters.matrix import polls, translate
from adapters.matrix import settings as matrix_settings
from adapters.matrix.adapter import MatrixAdapter
from adapters.settings import load_settings
from bot.clock import ManualClock
from bot.events import ChoicePicked
from bot.ports import ChoiceOption, Outgoing
from tests.harnesses.matrix import HarnessMaker, MatrixHarness
from tests.matrixmember import MemberClient
from tests.test_matrix_adapter import MONDAY, alliance
from tests.test_matrix_element import bot_reactions, checkins, replies, with_reminders

RESPONSE = "org.matrix.msc3381.poll.response"
BARRIER, CONTACT, USEFUL = "Name one barrier", "In the last six months", "How useful was the"
"""The first words of Berta's questions at nine: a text one, a choice (Yes / No / Not sure) and
a scale (1–5), asked one at a time."""
CONTACT_CHOICES = (
    ChoiceOption("yes", "Yes"),
    ChoiceOption("no", "No"),
    ChoiceOption("unsure", "Not sure"),
)


def prompt(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "text": "Any contact with an international body?",
        "title": "Check-in: Pulse",
        "kind": "prompt",
        "choices": CONTACT_CHOICES,
        "answer_kind": "choice",
        "delivery_id": 7,
        "idempotency_key": "d7",
        **changes,
    }
    return Outgoing(**fields)


def vote(poll: str, *answers: str, stable: bool = False) -> dict[str, Any]:
    """A poll response's content, as Element sends it (or as the stable ``m.poll.response``)."""
    relates = {"rel_type": "m.reference", "event_id": poll}
    if stable:
        return {"m.relates_to": relates, "m.selections": list(answers)}
    return {"m.relates_to": relates, RESPONSE: {"answers": list(answers)}}


def inbound(content: dict[str, Any], kind: str = RESPONSE) -> Any:
    source = {
        "type": kind,
        "event_id": "$vote",
        "sender": "@berta:localhost",
        "origin_server_ts": 1_795_000_000_000,
        "content": content,
    }
    return translate.inbound(
        source, room_id="!dm:localhost", own_user_id="@alliancebot:localhost", is_direct=True
    )


# --- pure translation --------------------------------------------------------------------------


def test_a_choice_prompt_is_a_disclosed_single_vote_poll_with_a_typed_fallback() -> None:
    kind, content = polls.event_for(prompt(), "$root", polls.POLLS)
    assert kind == polls.POLL_START == "org.matrix.msc3381.poll.start"
    poll = content[polls.POLL_START]
    assert poll["question"][polls.TEXT] == "Any contact with an international body?"
    assert (poll["kind"], poll["max_selections"]) == ("org.matrix.msc3381.poll.disclosed", 1)
    assert poll["answers"] == [
        {"id": "yes", polls.TEXT: "Yes"},
        {"id": "no", polls.TEXT: "No"},
        {"id": "unsure", polls.TEXT: "Not sure"},
    ]
    fallback = content[polls.TEXT]
    assert content["body"] == fallback
    assert fallback.splitlines() == [
        "Check-in: Pulse",
        "Any contact with an international body?",
        "1. Yes",
        "2. No",
        "3. Not sure",
        "Reply in this thread with the number or the name of your choice.",
    ]
    assert content[translate.KIND_KEY] == "prompt"
    assert content["m.mentions"] == {}
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert polls.event_for(prompt(), None, polls.POLLS)[1].get("m.relates_to") is None

    # A scale shows its own values, once each; a reminder is a poll too, in the reader's language.
    scale = tuple(ChoiceOption(str(n), str(n)) for n in range(1, 6))
    _kind, content = polls.event_for(
        prompt(choices=scale, answer_kind="scale", kind="reminder", locale="fr"), None, "polls"
    )
    assert content["body"].splitlines()[2:7] == ["1", "2", "3", "4", "5"]
    assert [a["id"] for a in content[polls.POLL_START]["answers"]] == ["1", "2", "3", "4", "5"]
    assert content[translate.KIND_KEY] == "reminder"


def test_what_stays_a_message() -> None:
    many = tuple(ChoiceOption(f"k{n}", f"Option {n}") for n in range(21))  # MSC3381: 20 at most
    for message, mode in [
        (prompt(), polls.REACTIONS),
        (prompt(choices=()), polls.POLLS),
        (prompt(choices=many), polls.POLLS),
        (prompt(kind="message", delivery_id=None), polls.POLLS),
    ]:
        kind, content = polls.event_for(message, None, mode)
        assert kind == "m.room.message"
        assert content == translate.outgoing_content(message)
    keycaps = translate.offered_reactions(polls.event_for(prompt(), None, polls.REACTIONS)[1])
    assert keycaps == list(translate.KEYCAPS[1:4])


def test_a_vote_picks_the_answer_id_on_the_poll() -> None:
    assert inbound(vote("$poll", "no")) == ChoicePicked(
        platform="matrix",
        event_id="$vote",
        sender="@berta:localhost",
        at=datetime.fromtimestamp(1_795_000_000, tz=UTC),
        channel="!dm:localhost",
        is_direct=True,
        message_ref="$poll",
        choice="no",
    )
    stable = inbound(vote("$poll", "unsure", stable=True), "m.poll.response")
    assert (stable.message_ref, stable.choice) == ("$poll", "unsure")
    assert inbound(vote("$poll", "yes", "no")).choice == "yes"  # one vote only: the first

    spoiled: list[dict[str, Any]] = [
        vote("$poll"),  # no answer: a spoiled vote
        vote("$poll", ""),
        {"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"}, RESPONSE: {}},
        {"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"}, RESPONSE: [3]},
        {**vote("$poll", "no"), "m.relates_to": {"rel_type": "m.annotation", "event_id": "$p"}},
        {**vote("$poll", "no"), "m.relates_to": {"rel_type": "m.reference"}},
        {RESPONSE: {"answers": ["no"]}},
    ]
    assert [inbound(content) for content in spoiled] == [None] * len(spoiled)
    assert inbound(vote("$poll", "no"), "org.matrix.msc3381.poll.end") is None


def test_the_setting_chooses_polls_unless_told_reactions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ALLIANCE_BOT_MATRIX__CHOICES", raising=False)
    assert matrix_settings.of(load_settings()).choices == "polls"
    monkeypatch.setenv("ALLIANCE_BOT_MATRIX__CHOICES", "reactions")
    settings = load_settings(
        data_dir=tmp_path,
        matrix={
            "homeserver": "http://127.0.0.1:9",
            "user_id": "@bot:localhost",
            "access_token": "token",
            "pickle_key": "not-the-default",
            "choices": "reactions",
        },
    )
    adapter = MatrixAdapter.from_settings(settings, ManualClock(MONDAY))
    assert adapter.matrix_port.choices == "reactions"
    monkeypatch.setenv("ALLIANCE_BOT_MATRIX__CHOICES", "buttons")
    with pytest.raises(ValidationError, match="polls"):
        load_settings()


# --- on a real Synapse -------------------------------------------------------------------------


def polls_of(h: MatrixHarness, member: str) -> dict[str, dict[str, Any]]:
    """The bot's polls ``member`` can read (decrypted), newest last: first words of the
    question -> event id, room id and content."""
    found = {}
    for event_id, (room_id, source) in h.members[member].seen.items():
        if source.get("type") == polls.POLL_START and source.get("sender") == h.bot.user_id:
            content = source["content"]
            question = content[polls.POLL_START]["question"][polls.TEXT]
            found[question[:20]] = {"event_id": event_id, "room_id": room_id, **content}
    return found


async def poll_asking(h: MatrixHarness, member: str, start: str, kind: str = "prompt") -> str:
    """The event id of the bot's poll (a ``kind``) whose question starts with ``start``, once
    ``member`` has it: one question at a time, so it may come after an earlier answer."""

    def found() -> str | None:
        return next(
            (
                p["event_id"]
                for p in reversed(polls_of(h, member).values())
                if p[translate.KIND_KEY] == kind
                and p[polls.POLL_START]["question"][polls.TEXT].split("\n")[-1].startswith(start)
            ),
            None,
        )

    await h.members[member].wait(lambda: found() is not None, f"see the poll {start}…")
    poll = found()
    assert poll is not None
    return poll


async def answer_the_barrier(h: MatrixHarness) -> None:
    """Berta's first question at nine is a text one (a message): answer it."""
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    [barrier] = [r.ref for r in h.inbox("berta") if r.text.splitlines()[1].startswith(BARRIER)]
    assert "Thank you" in (await h.reply("berta", barrier, "No shared calendar."))[0]


async def cast(
    h: MatrixHarness, member: str, poll: str, answer: str, *, stable: bool = False
) -> str:
    """``member`` votes ``answer`` on ``poll`` (in the direct chat), as Element does; the
    vote's event id."""
    client = h.members[member]
    room_id = await client.open_dm()
    kind = "m.poll.response" if stable else RESPONSE
    return await client.send(room_id, vote(poll, answer, stable=stable), kind)


async def in_polls_mode(make_matrix: HarnessMaker, text: str) -> MatrixHarness:
    h = await make_matrix(MONDAY, text)
    h.adapter.matrix_port.choices = polls.POLLS
    return h


async def test_a_vote_answers_a_choice_prompt_and_a_new_vote_edits_it(
    make_matrix: HarnessMaker,
) -> None:
    h = await in_polls_mode(make_matrix, with_reminders(alliance()))
    await answer_the_barrier(h)
    berta = h.members["berta"]
    contact = await poll_asking(h, "berta", CONTACT)

    # What Element shows: a poll, sent encrypted (the direct chat is), so it notifies like a
    # message (Synapse's rule for encrypted one-to-one rooms), with no keycaps added; a client
    # without polls shows the fallback, which says how to answer by typing.
    room_id, source = berta.seen[contact]
    path = f"/rooms/{quote(room_id, safe='')}/event/{quote(contact, safe='')}"
    assert (await berta.client.raw("GET", path))["type"] == "m.room.encrypted"
    notified = (await berta.client.raw("GET", "/notifications?limit=20"))["notifications"]
    assert any(n["event"]["event_id"] == contact and "notify" in n["actions"] for n in notified)
    assert bot_reactions(h, "berta", contact) == set()
    fallback = source["content"]["body"]
    assert "1. Yes\n2. No\n3. Not sure" in fallback and "number or the name" in fallback
    answers = source["content"][polls.POLL_START]["answers"]
    assert [a["id"] for a in answers] == ["yes", "no", "unsure"]

    # A vote answers, and the acknowledgement is a notice replying to the poll.
    voted = await cast(h, "berta", contact, "no")
    assert "Thank you" in (await h.replies_to("berta", voted))[0]
    [ack] = replies(h, "berta", voted)
    assert (ack["msgtype"], ack["m.relates_to"]) == (
        "m.notice",
        {"m.in_reply_to": {"event_id": contact}},
    )
    stored = (await checkins(h))["backbone-international-contact"]
    assert (stored.answer_choice, stored.source) == ("no", "button")

    # Changing the vote (Element sends a new response; here the stable type) edits the answer.
    again = await cast(h, "berta", contact, "yes", stable=True)
    assert "Updated" in (await h.replies_to("berta", again))[0]
    assert (await checkins(h))["backbone-international-contact"].answer_choice == "yes"

    # The next question, left unanswered, is reminded as a poll; a vote on it answers.
    await poll_asking(h, "berta", USEFUL)
    await h.runtime.advance(MONDAY + timedelta(hours=2, minutes=2))
    reminder = await poll_asking(h, "berta", USEFUL, "reminder")
    assert "Thank you" in (await h.replies_to("berta", await cast(h, "berta", reminder, "4")))[0]
    assert (await checkins(h))["backbone-support-usefulness"].answer_number == 4


async def test_typed_answers_in_a_polls_thread_still_count(make_matrix: HarnessMaker) -> None:
    h = await in_polls_mode(make_matrix, alliance())
    await answer_the_barrier(h)
    contact = await poll_asking(h, "berta", CONTACT)
    assert "Thank you" in (await h.reply("berta", contact, "Not sure"))[0]
    useful = await poll_asking(h, "berta", USEFUL)
    assert "Thank you" in (await h.reply("berta", useful, "5"))[0]
    stored = await checkins(h)
    assert stored["backbone-international-contact"].answer_choice == "unsure"
    assert stored["backbone-support-usefulness"].answer_number == 5


async def test_votes_on_polls_that_are_not_prompts_are_ignored_quietly(
    make_matrix: HarnessMaker,
) -> None:
    h = await in_polls_mode(make_matrix, alliance())
    await answer_the_barrier(h)
    berta = h.members["berta"]
    contact = await poll_asking(h, "berta", CONTACT)
    voted = await cast(h, "berta", contact, "yes")
    await h.replies_to("berta", voted)
    [ack] = h.adapter.replied[voted]
    useful = await poll_asking(h, "berta", USEFUL)
    own = await own_poll(berta, berta.seen[contact][0])

    stray = [await cast(h, "berta", own, "a"), await cast(h, "berta", ack, "yes")]
    h.adapter.matrix_port.kinds.clear()  # a restarted worker: it asks the homeserver
    stray += [await cast(h, "berta", own, "b"), await cast(h, "berta", ack, "no", stable=True)]
    answered = await cast(h, "berta", useful, "3")  # still an answer, read back from the server
    assert "Thank you" in (await h.replies_to("berta", answered))[0]

    assert not set(stray) & (set(h.adapter.handled) | set(h.adapter.replied))
    assert set(await checkins(h)) == {
        "name-a-barrier",
        "backbone-international-contact",
        "backbone-support-usefulness",
    }
    said = [str(content.get("body", "")) for _e, _r, content in berta.from_bot()]
    assert not [s for s in said if "no longer open" in s or "not one of" in s]


async def own_poll(member: MemberClient, room_id: str) -> str:
    """A poll of the member's own, as Element starts one."""
    content = {
        polls.POLL_START: {
            "question": {polls.TEXT: "Lunch?"},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [{"id": "a", polls.TEXT: "Pizza"}, {"id": "b", polls.TEXT: "Soup"}],
        },
        polls.TEXT: "Lunch?\n1. Pizza\n2. Soup",
    }
    return await member.send(room_id, content, polls.POLL_START)


async def test_in_reactions_mode_prompts_are_messages_with_their_keycaps(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, alliance())
    h.adapter.matrix_port.choices = polls.REACTIONS
    await answer_the_barrier(h)
    berta = h.members["berta"]

    def contact() -> str | None:
        found = [r.ref for r in h.inbox("berta") if r.text.splitlines()[1].startswith(CONTACT)]
        return found[0] if found else None

    await berta.wait(lambda: contact() is not None, "see the choice prompt")
    prompt_id = contact()
    assert prompt_id is not None and berta.seen[prompt_id][1]["type"] == "m.room.message"
    await berta.wait(
        lambda: bot_reactions(h, "berta", prompt_id) == set(translate.KEYCAPS[1:4]), "keycaps"
    )
    assert polls_of(h, "berta") == {}
    assert "Thank you" in (await h.pick("berta", prompt_id, "3"))[0]
    assert (await checkins(h))["backbone-international-contact"].answer_choice == "unsure"
