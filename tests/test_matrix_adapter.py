"""The Matrix adapter against a real Synapse: answers of every shape, encryption, rooms, files."""

from __future__ import annotations

import asyncio
import secrets
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

from nio import RoomSendResponse
from nio.crypto.attachments import decrypt_attachment
from sqlalchemy import select

from adapters.matrix import translate
from adapters.matrix.adapter import DECLINE, MatrixAdapter
from adapters.matrix.client import BotClient, client_config
from adapters.matrix.port import MatrixPort
from bot.ports import Attachment, Destination, DestinationKind
from bot.storage.records import CheckIn, CheckInRevision
from tests.harness import with_accounts
from tests.harnesses.matrix import HarnessMaker, MatrixHarness
from tests.matrixmember import PICKLE, MemberClient

MONDAY = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Matrix Alliance, default_timezone: UTC}
    organisations:
      - {slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: UTC}
      - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: UTC}
    members:
      - {id: berta, name: Berta, organisation: berlin-lib, reporting: true, <<berta>>}
      - {id: NEWBIE, name: New, organisation: berlin-lib, <<NEWBIE>>}
      - {id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}
      - {id: ada, name: Ada, organisation: backbone, role: admin, <<ada>>}
    CHANNELS
    campaigns:
      - key: pulse
        name: Pulse
        ask: all at once              # these tests answer the three prompts in any order
        prompts: [name-a-barrier, backbone-international-contact, backbone-support-usefulness]
        audience: {members: [berta]}
        schedule: "0 6 * * *"
      - key: welcome
        name: Welcome
        prompts: [name-a-barrier]
        audience: {members: [NEWBIE]}
        schedule: "0 7 * * *"
    """)


def alliance(newbie: str = "newbie", channels: str = "") -> str:
    text = ALLIANCE.replace("NEWBIE", newbie).replace("CHANNELS", channels or "")
    return with_accounts(text)


def prompts_by_text(h: MatrixHarness, member: str) -> dict[str, str]:
    """First words of each prompt -> its event id."""
    return {r.text.splitlines()[1][:20]: r.ref for r in h.inbox(member) if r.is_prompt}


BERTAS = ("Name one barrier to ", "In the last six mont", "How useful was the c")
"""The first words of Berta's three prompts at nine: a text, a choice and a scale."""


async def nine_oclock(h: MatrixHarness) -> dict[str, str]:
    """Monday's nine o'clock run; Berta's prompts by their first words."""
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    return prompts_by_text(h, "berta")


async def test_thread_reply_plain_reply_reaction_and_edit_become_check_ins(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, alliance())
    prompts = await nine_oclock(h)
    barrier, contact, useful = (prompts[start] for start in BERTAS)
    contact_prompt = next(r for r in h.inbox("berta") if r.ref == contact)
    assert contact_prompt.choices == ("Yes", "No", "Not sure")
    berta = h.members["berta"]

    thread_answer = await berta.send(
        berta.seen[barrier][0],
        {
            "msgtype": "m.text",
            "body": "No shared calendar.",
            "m.relates_to": translate.relation(barrier, None),
        },
    )
    assert "Thank you" in (await h.replies_to("berta", thread_answer))[0]
    assert "Thank you" in (await h.pick("berta", contact, "2"))[0]  # a 2️⃣ reaction
    rich_reply = await berta.send(
        berta.seen[useful][0],
        {"msgtype": "m.text", "body": "4", "m.relates_to": {"m.in_reply_to": {"event_id": useful}}},
    )
    assert "Thank you" in (await h.replies_to("berta", rich_reply))[0]
    edit = await berta.send(
        berta.seen[barrier][0],
        {
            "msgtype": "m.text",
            "body": "* No shared calendar, and no time.",
            "m.new_content": {"msgtype": "m.text", "body": "No shared calendar, and no time."},
            "m.relates_to": {"rel_type": "m.replace", "event_id": thread_answer},
        },
    )
    assert "Updated" in (await h.replies_to("berta", edit))[0]

    async with h.runtime.db.session() as s:
        rows = {c.prompt_id: c for c in (await s.scalars(select(CheckIn))).all()}
        revisions = (await s.scalars(select(CheckInRevision))).all()
    assert rows["name-a-barrier"].answer_text == "No shared calendar, and no time."
    assert rows["name-a-barrier"].source == "edit"
    assert [r.answer_text for r in revisions] == ["No shared calendar."]
    assert (
        rows["backbone-international-contact"].answer_choice,
        rows["backbone-international-contact"].source,
    ) == ("no", "button")
    assert (
        rows["backbone-support-usefulness"].answer_number,
        rows["backbone-support-usefulness"].source,
    ) == (4, "reply")

    # Each answered prompt gets a ✅ from the bot, encrypted like everything in the DM.
    def marked() -> set[str]:
        return {
            source["content"]["m.relates_to"]["event_id"]
            for _room, source in berta.seen.values()
            if source.get("type") == "m.reaction" and source.get("sender") == h.bot.user_id
        }

    await berta.wait(lambda: marked() >= {barrier, contact, useful}, "see three ✅")


async def test_an_encrypted_direct_chat_round_trip(make_matrix: HarnessMaker) -> None:
    newbie = f"newbie{secrets.token_hex(3)}"  # no DM with the bot yet: the bot opens one
    h = await make_matrix(MONDAY, alliance(newbie))
    await h.runtime.advance(MONDAY + timedelta(hours=2, minutes=1))
    [prompt] = h.inbox(newbie)
    member = h.members[newbie]
    room_id = member.seen[prompt.ref][0]
    assert member.client.rooms[room_id].encrypted
    assert member.client.rooms[room_id].member_count == 2
    assert member.undecryptable == []
    direct = await h.adapter.client.get_account_data("m.direct")
    assert room_id in direct[member.user_id]  # Element lists it as a direct chat

    replies = await h.reply(newbie, prompt.ref, "Knowing whom to ask.")
    assert "Thank you" in replies[0] and "Knowing whom to ask." in replies[0]
    assert member.undecryptable == []
    async with h.runtime.db.session() as s:
        checkin = (await s.scalars(select(CheckIn))).one()
    assert (checkin.answer_text, checkin.platform) == ("Knowing whom to ask.", "matrix")


async def test_a_message_the_bot_cannot_decrypt_is_not_stored(make_matrix: HarnessMaker) -> None:
    h = await make_matrix(MONDAY, alliance())
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    berta = h.members["berta"]
    room_id = berta.dm_with_bot()
    assert room_id is not None
    bogus = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": "c2VuZGVyIGtleSB0aGF0IGRvZXMgbm90IGV4aXN0",
        "session_id": "bm8gc3VjaCBzZXNzaW9u",
        "device_id": berta.account.device_id,
        "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAtHaZTwyNg37afzg8f3r9",
    }
    path = f"/rooms/{room_id}/send/m.room.encrypted/utd{secrets.token_hex(4)}"
    sent = await berta.client.raw("PUT", path, bogus)
    replies = await h.replies_to("berta", sent["event_id"])
    assert "could not read" in replies[0] and "send it again" in replies[0]
    async with h.runtime.db.session() as s:
        assert (await s.scalars(select(CheckIn))).all() == []


async def room_of(owner: MemberClient, invite: list[str], **options: Any) -> str:
    response = await owner.client.room_create(invite=invite, **options)
    assert hasattr(response, "room_id"), response
    return str(response.room_id)


async def joined(member: MemberClient, room_id: str, user_id: str) -> None:
    def check() -> bool:
        room = member.client.rooms.get(room_id)
        return room is not None and user_id in set(room.users) - set(room.invited_users)

    await member.wait(check, f"{user_id} joined {room_id}")


async def test_room_mentions_staff_rooms_and_private_answers(make_matrix: HarnessMaker) -> None:
    """A staff channel (by alias): a prompt posted there, answered in its thread with “@room”;
    the bot's echo pings nobody although the bot may ping the room; !digest answers in the
    staff room, but in a direct chat when asked in an ordinary room."""
    staff_alias = f"staff{secrets.token_hex(3)}"
    channels = textwrap.dedent(f"""\
        channels:
          - {{key: staff, name: Staff, purpose: staff, matrix: "#{staff_alias}:localhost"}}
        """)
    text = alliance(channels=channels).replace(
        "  - key: welcome",
        "  - key: staffpulse\n    name: Staff pulse\n    prompts: [name-a-barrier]\n"
        '    deliver_to: [staff]\n    schedule: "0 8 * * *"\n  - key: welcome',
    )
    h = await make_matrix(MONDAY, text)
    bot, bo, ada = h.bot, h.members["bo"], h.members["ada"]
    staff = await room_of(
        bo,
        [ada.user_id, bot.user_id],
        alias=staff_alias,
        power_level_override={"users": {bot.user_id: 100}},
    )
    lounge = await room_of(bo, [ada.user_id, bot.user_id])
    for room in (staff, lounge):
        await joined(bo, room, bot.user_id)
        await ada.client.join(room)
        await joined(bo, room, ada.user_id)

    await h.runtime.advance(MONDAY + timedelta(hours=3, minutes=1))
    [prompt] = [ref for ref, room, _c in bo.from_bot() if room == staff]
    answer = "@room our <b>partners</b> need help"
    replies = await h.reply("bo", prompt, answer)
    assert answer in replies[0]
    [echo] = list(h.adapter.replied.values())[-1]
    room, echoed = bo.seen[echo]
    assert room == staff
    assert echoed["content"]["m.mentions"] == {"user_ids": [bo.user_id]}
    assert "&lt;b&gt;partners&lt;/b&gt;" in echoed["content"]["formatted_body"]
    # The same words from the bot without m.mentions would ping the room: the test can tell.
    control = await h.adapter.client.room_send(
        staff, "m.room.message", {"msgtype": "m.text", "body": "@room control"}
    )
    assert isinstance(control, RoomSendResponse)
    highlights = await ada.client.raw("GET", "/notifications?only=highlight")
    pinged = {n["event"]["event_id"] for n in highlights.get("notifications", [])}
    assert control.event_id in pinged and echo not in pinged

    async def digest_in(room_id: str) -> tuple[str, set[str]]:
        asked = await bo.send(room_id, {"msgtype": "m.text", "body": "!digest"})
        [text] = await h.replies_to("bo", asked)
        return text, {bo.seen[e][0] for e in h.adapter.replied[asked]}

    text, rooms = await digest_in(staff)
    assert "Response by organisation" in text and rooms == {staff}
    text, rooms = await digest_in(lounge)  # not a staff room: the digest goes to a DM
    assert "Response by organisation" in text and rooms == {bo.dm_with_bot()}


async def test_invitations_from_strangers_are_declined(make_matrix: HarnessMaker) -> None:
    h = await make_matrix(MONDAY, alliance())
    session = h.session
    stranger = MemberClient(session, "stranger", h.bot.user_id)
    await stranger.start()
    try:
        room = await room_of(stranger, [h.bot.user_id])

        def declined() -> bool:
            found = [
                s
                for _r, s in stranger.seen.values()
                if s.get("type") == "m.room.member"
                and s.get("state_key") == h.bot.user_id
                and s["content"].get("membership") == "leave"
            ]
            return bool(found) and found[-1]["content"].get("reason") == DECLINE

        await stranger.wait(declined, "see the bot decline")
        assert room not in h.adapter.client.rooms
        bo = h.members["bo"]
        accepted = await room_of(bo, [h.bot.user_id])
        await joined(bo, accepted, h.bot.user_id)
    finally:
        await stranger.stop()


async def test_a_chart_goes_up_encrypted_through_the_media_repository(
    make_matrix: HarnessMaker,
) -> None:
    h = await make_matrix(MONDAY, alliance())
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
        b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    berta = h.members["berta"]
    sent = await h.adapter.port.upload(
        Destination(DestinationKind.PERSON, berta.user_id),
        Attachment("chart.png", png, "image/png", "Responses this week"),
    )
    await berta.wait(lambda: sent.message_ref in berta.seen, "see the chart")
    content = berta.seen[sent.message_ref][1]["content"]
    assert content["msgtype"] == "m.image" and "url" not in content
    assert (content["info"]["w"], content["info"]["h"]) == (1, 1)
    file = content["file"]
    server, media = file["url"].removeprefix("mxc://").split("/")
    response = await berta.client.send(
        "GET",
        f"/_matrix/client/v1/media/download/{server}/{media}",
        None,
        {"Authorization": f"Bearer {berta.account.access_token}"},
    )
    ciphertext = await response.read()
    plain = decrypt_attachment(ciphertext, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
    assert plain == png


async def test_a_password_login_keeps_its_device(make_matrix: HarnessMaker) -> None:
    h = await make_matrix(MONDAY, alliance())
    account = h.session.account("alliancebot2")
    devices = []
    for _ in range(2):
        client = BotClient(
            h.session.server.url,
            account.user_id,
            device_id=None,
            store_path=h.session.store("alliancebot2"),
            config=client_config(PICKLE),
        )
        adapter = MatrixAdapter(client, MatrixPort(client, h.clock), password=account.password)
        await adapter.start(h.runtime)
        await asyncio.wait_for(adapter.ready.wait(), 30)
        devices.append(client.device_id)
        await adapter.stop()
    assert devices[0] == devices[1] and devices[0] != account.device_id


async def test_answers_sent_while_the_bot_was_away_are_all_read(make_matrix: HarnessMaker) -> None:
    """More answers than one sync shows (timeline limit 2): the gap is read back in order."""
    h = await make_matrix(MONDAY, alliance(), timeline_limit=2)
    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    barrier = prompts_by_text(h, "berta")["Name one barrier to "]
    await h.runtime.stop()
    berta = h.members["berta"]
    room_id = berta.seen[barrier][0]
    sent = []
    for n in range(6):
        body = {
            "msgtype": "m.text",
            "body": f"answer {n}",
            "m.relates_to": translate.relation(barrier, None),
        }
        sent.append(await berta.send(room_id, body))
    h.new_adapter()
    await h.new_runtime().start()
    for event_id in sent:
        await h.replies_to("berta", event_id)
    async with h.runtime.db.session() as s:
        checkin = (
            await s.scalars(select(CheckIn).where(CheckIn.prompt_id == "name-a-barrier"))
        ).one()
        revisions = (await s.scalars(select(CheckInRevision).order_by(CheckInRevision.id))).all()
    assert checkin.answer_text == "answer 5"
    assert [r.answer_text for r in revisions] == [f"answer {n}" for n in range(5)]
