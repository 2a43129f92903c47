"""Matrix done the Element way, against a real Synapse: replies are notices, threaded to the
answer; choice prompts carry their keycaps; stray reactions and media are handled politely;
the digest's HTML carries its text; nio keeps quiet."""

from __future__ import annotations

import html
import logging
import re
import secrets
import textwrap
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.matrix import translate
from bot.ingest import FILE_NOT_KEPT as NOT_KEPT
from bot.ingest import FILE_WITHOUT_WORDS as WITHOUT_WORDS
from bot.storage.records import CheckIn
from tests.harness import with_accounts
from tests.harnesses.matrix import HarnessMaker, MatrixHarness
from tests.test_matrix_adapter import BERTAS, MONDAY, alliance, nine_oclock, prompts_by_text

KEYCAP = translate.KEYCAPS


def with_reminders(text: str) -> str:
    return text.replace(
        '    schedule: "0 6 * * *"\n',
        '    schedule: "0 6 * * *"\n    reminders: {after: 1h, max: 1}\n',
    )


def replies(h: MatrixHarness, member: str, event_id: str) -> list[dict[str, Any]]:
    """The contents of the bot's replies to ``event_id`` (after ``h.replies_to``)."""
    seen = h.members[member].seen
    return [seen[posted][1]["content"] for posted in h.adapter.replied[event_id]]


def bot_reactions(h: MatrixHarness, member: str, target: str) -> set[str]:
    return {
        source["content"]["m.relates_to"]["key"]
        for _room, source in h.members[member].seen.values()
        if source.get("type") == "m.reaction"
        and source.get("sender") == h.bot.user_id
        and source["content"]["m.relates_to"]["event_id"] == target
    }


async def checkins(h: MatrixHarness) -> dict[str, CheckIn]:
    async with h.runtime.db.session() as s:
        return {c.prompt_id: c for c in (await s.scalars(select(CheckIn))).all()}


async def test_replies_are_notices_in_the_answers_thread_or_replying_to_it(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, alliance())
    prompts = await nine_oclock(h)
    barrier, contact, useful = (prompts[start] for start in BERTAS)
    berta = h.members["berta"]
    room_id = berta.seen[barrier][0]
    assert {berta.seen[p][1]["content"]["msgtype"] for p in prompts.values()} == {"m.text"}

    # An answer in the prompt's thread: the notice stays in that thread, quoting nothing.
    answer = await berta.send(
        room_id,
        {
            "msgtype": "m.text",
            "body": "No shared calendar.",
            "m.relates_to": translate.relation(barrier, None),
        },
    )
    assert "Thank you" in (await h.replies_to("berta", answer))[0]
    [ack] = replies(h, "berta", answer)
    assert ack["msgtype"] == "m.notice"
    assert ack["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": barrier,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": answer},
    }

    # A rich reply outside any thread: the notice is a rich reply to the answer.
    rich = await berta.send(
        room_id,
        {"msgtype": "m.text", "body": "4", "m.relates_to": {"m.in_reply_to": {"event_id": useful}}},
    )
    assert "Thank you" in (await h.replies_to("berta", rich))[0]
    [ack] = replies(h, "berta", rich)
    assert (ack["msgtype"], ack["m.relates_to"]) == (
        "m.notice",
        {"m.in_reply_to": {"event_id": rich}},
    )

    # A reaction answers the prompt it is on: the notice replies to that prompt.
    assert "Thank you" in (await h.pick("berta", contact, "2"))[0]
    [tap] = [e for e, r in h.adapter.replied.items() if r and e not in (answer, rich)]
    [ack] = replies(h, "berta", tap)
    assert (ack["msgtype"], ack["m.relates_to"]) == (
        "m.notice",
        {"m.in_reply_to": {"event_id": contact}},
    )
    # A command's answer is a notice too.
    asked = await berta.send(room_id, {"msgtype": "m.text", "body": "!help"})
    await h.replies_to("berta", asked)
    assert {c["msgtype"] for c in replies(h, "berta", asked)} == {"m.notice"}


async def test_choice_prompts_and_reminders_carry_their_keycaps(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, with_reminders(alliance()))
    prompts = await nine_oclock(h)
    barrier, contact, useful = (prompts[start] for start in BERTAS)
    berta = h.members["berta"]

    # Each choice prompt carries one keycap per option, added by the bot: one tap answers.
    await berta.wait(lambda: bot_reactions(h, "berta", contact) == set(KEYCAP[1:4]), "keycaps")
    await berta.wait(lambda: bot_reactions(h, "berta", useful) == set(KEYCAP[1:6]), "1️⃣-5️⃣")
    assert bot_reactions(h, "berta", barrier) == set()  # a text prompt has none

    # The bot's own keycaps, synced before these answers, answered nothing.
    await h.reply("berta", barrier, "No shared calendar.")
    await h.reply("berta", useful, "4")
    assert set(await checkins(h)) == {"name-a-barrier", "backbone-support-usefulness"}

    # A reminder notifies, like a prompt, and offers the keycaps again.
    await h.runtime.advance(MONDAY + timedelta(hours=2, minutes=2))
    [reminder] = [r.ref for r in h.inbox("berta") if r.kind == "reminder"]
    assert berta.seen[reminder][1]["content"]["msgtype"] == "m.text"
    await berta.wait(lambda: bot_reactions(h, "berta", reminder) == set(KEYCAP[1:4]), "keycaps")

    # One tap on the reminder's 2️⃣ (the bot's own is already there) answers its prompt.
    assert "Thank you" in (await h.pick("berta", reminder, "2"))[0]
    assert (await checkins(h))["backbone-international-contact"].answer_choice == "no"


async def test_reactions_on_what_is_not_a_prompt_are_ignored_quietly(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, alliance())
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    prompts = prompts_by_text(h, "berta")
    barrier, contact = prompts["Name one barrier to "], prompts["In the last six mont"]
    berta = h.members["berta"]
    room_id = berta.seen[barrier][0]
    answer = await berta.send(
        room_id,
        {
            "msgtype": "m.text",
            "body": "Funding.",
            "m.relates_to": translate.relation(barrier, None),
        },
    )
    await h.replies_to("berta", answer)
    [ack] = h.adapter.replied[answer]

    async def react(target: str, key: str) -> str:
        return await berta.send(room_id, translate.reaction_content(target, key), "m.reaction")

    stray = [await react(ack, KEYCAP[1]), await react(answer, KEYCAP[2])]
    # What a restarted worker sees: it has posted nothing yet, so it asks the homeserver.
    h.adapter.matrix_port.kinds.clear()
    stray += [await react(ack, KEYCAP[3]), await react(answer, KEYCAP[1])]
    tapped = await react(contact, KEYCAP[1])  # still an answer, read back from the homeserver
    assert "Thank you" in (await h.replies_to("berta", tapped))[0]
    assert (await checkins(h))["backbone-international-contact"].answer_choice == "yes"

    assert not set(stray) & (set(h.adapter.handled) | set(h.adapter.replied))
    said = [str(content.get("body", "")) for _e, _r, content in berta.from_bot()]
    assert not [s for s in said if "no longer open" in s]


async def test_media_answers_by_caption_or_asks_for_a_typed_answer(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, alliance())
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    barrier = prompts_by_text(h, "berta")["Name one barrier to "]
    berta = h.members["berta"]
    room_id = berta.seen[barrier][0]
    media = {  # as Element sends media in an encrypted room (the file is never fetched)
        "file": {
            "v": "v2",
            "url": "mxc://localhost/notkept",
            "key": {"alg": "A256CTR", "k": "a2V5", "ext": True, "kty": "oct"},
            "iv": "aXY",
            "hashes": {"sha256": "c2hh"},
        },
        "info": {"mimetype": "image/png", "size": 3},
    }

    # A caption (body and filename differ, as the spec has it), sent in the prompt's thread.
    captioned = {
        **media,
        "msgtype": "m.image",
        "body": "The library's hours.",
        "filename": "hours.png",
        "m.relates_to": translate.relation(barrier, None),
    }
    said = await h.say("berta", room_id, captioned)
    assert "Thank you" in said[0] and str(NOT_KEPT) in said[1]
    assert (await checkins(h))["name-a-barrier"].answer_text == "The library's hours."

    # No caption: the body is the file's name (with or without ``filename``).
    for bare in (
        {**media, "msgtype": "m.file", "body": "report.pdf", "filename": "report.pdf"},
        {**media, "msgtype": "m.image", "body": "photo.png"},
        {
            **media,
            "msgtype": "m.image",
            "body": "photo.png",
            "m.relates_to": {"m.in_reply_to": {"event_id": barrier}},
        },
    ):
        assert await h.say("berta", room_id, bare) == [str(WITHOUT_WORDS)]
    assert (await checkins(h))["name-a-barrier"].answer_text == "The library's hours."


MEASURED = textwrap.dedent("""\
    alliance: {name: Measured Alliance, default_timezone: UTC}
    organisations:
      - {slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: UTC}
      - {slug: syd-lib, name: Sydney Lib, kind: library, country: AU, timezone: UTC}
      - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: UTC}
    members:
      - {id: berta, name: Berta, organisation: berlin-lib, reporting: true, <<berta>>}
      - {id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}
    measures:
      - key: digital_skills_sessions
        name: Digital-skills sessions
        unit: sessions
        target: 30
        targets: {berlin-lib: 20, syd-lib: 10}
      - {key: people_reached, name: People reached, unit: people}
    campaigns:
      - key: pulse
        name: Pulse
        prompts: [name-a-barrier]
        audience: {members: [berta]}
        schedule: "0 6 * * *"
      - key: figures
        name: Figures
        measures: [digital_skills_sessions]
        audience: {members: [berta]}
        schedule: "0 6 * * *"
    """)


def html_lines(formatted: str) -> set[str]:
    """The lines a reader sees in Matrix HTML, with whitespace collapsed."""
    text = re.sub(r"</?(b|i|em|strong|code)>", "", formatted)
    text = re.sub(r"<[^>]+>", "\n", text)
    return {" ".join(line.split()) for line in html.unescape(text).splitlines() if line.strip()}


def measure_lines(text: str) -> list[str]:
    lines = text.split("Shared measurement\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [" ".join(line.split()) for line in lines if line.strip()]


async def test_the_digest_html_carries_every_measure_line_of_the_text(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, with_accounts(MEASURED))
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    [pulse] = [r.ref for r in h.inbox("berta") if r.is_prompt]  # the figures follow its answer
    assert "Thank you" in (await h.reply("berta", pulse, "Time."))[0]
    await h.runtime.advance(h.clock.now())
    [figure] = [r.ref for r in h.inbox("berta") if r.is_prompt and "sessions" in r.text]
    assert "Thank you" in (await h.reply("berta", figure, "12"))[0]
    asked = await h.members["bo"].send(
        await h.members["bo"].open_dm(), {"msgtype": "m.text", "body": "!digest"}
    )
    await h.replies_to("bo", asked)
    digest = replies(h, "bo", asked)[0]  # then the chart
    text, shown = digest["body"], html_lines(digest["formatted_body"])
    lines = measure_lines(text)
    assert any(line.startswith("Berlin Lib") for line in lines), text  # per organisation
    assert any(line.startswith("Sydney Lib") for line in lines), text
    assert any(line.startswith("Berlin Lib") and "12" in line for line in lines), text
    missing = [line for line in lines if line not in shown]
    assert missing == [], digest["formatted_body"]


async def test_nio_does_not_flood_the_log(
    make_matrix: HarnessMaker, caplog: pytest.LogCaptureFixture
) -> None:
    """A new encrypted direct chat makes nio warn about every device it has no session with
    yet; the adapter quiets those loggers itself."""
    newbie = f"newbie{secrets.token_hex(3)}"
    h = await make_matrix(MONDAY, alliance(newbie))
    caplog.set_level(logging.WARNING)
    await h.runtime.advance(MONDAY + timedelta(hours=2, minutes=1))
    [prompt] = h.inbox(newbie)
    assert "Thank you" in (await h.reply(newbie, prompt.ref, "Time."))[0]
    flood = [r for r in caplog.records if r.name.startswith("nio") and r.levelno < logging.ERROR]
    assert flood == []
    assert logging.getLogger("nio.crypto.log").getEffectiveLevel() == logging.ERROR
