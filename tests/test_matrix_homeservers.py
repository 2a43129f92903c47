"""Matrix members on any homeserver: their ids validate, the directory finds them, and their
events translate like a local member's.

One local Synapse cannot federate with ``partner.example`` or ``matrix.other.org:8448``, so
this test stops at the directory and the translation (pure functions, no homeserver): what a
federated event would look like once Synapse hands it to the bot is what is translated here.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.matrix import translate
from adapters.registry import id_checks
from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.clock import ManualClock
from bot.directory import Directory, member_by_account
from bot.domain.values import Role
from bot.events import CommandReceived, MessageReceived, Reacted
from bot.ports import Reply
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.database import Database

BOT = "@alliancebot:localhost"
ANA = "@ana:partner.example"
BO = "@bo:matrix.other.org:8448"
ALLIANCE = textwrap.dedent(f"""\
    alliance: {{name: Federated Alliance, default_timezone: UTC}}
    organisations:
      - {{slug: lyon, name: Lyon, country: FR, timezone: Europe/Paris}}
      - {{slug: quito, name: Quito, country: EC, timezone: America/Guayaquil}}
    members:
      - {{id: ana, name: Ana, organisation: lyon, matrix: "{ANA}", reporting: true}}
      - {{id: bo, name: Bo, organisation: quito, matrix: "{BO}", role: backbone}}
      - {{id: cy, name: Cy, organisation: quito, matrix: "@cy:localhost"}}
    channels:
      - {{key: staff, name: Staff, purpose: staff, matrix: "!staffroom:matrix.other.org:8448"}}
      - {{key: partners, name: Partners, matrix: "#partners:partner.example"}}
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barrier]
        schedule: "0 9 * * MON"
        deliver_to: [dm, partners]
""")


def _validated(tmp_path: Path) -> Any:
    path = tmp_path / "alliance.yaml"
    path.write_text(ALLIANCE, encoding="utf-8")
    alliance, problems = validate_file(path, platforms=id_checks())
    assert problems == [], [str(p) for p in problems]
    return alliance


def test_ids_from_other_homeservers_validate(tmp_path: Path) -> None:
    alliance = _validated(tmp_path)
    accounts = {member.id: member.identities()["matrix"] for member in alliance.members}
    assert accounts == {"ana": ANA, "bo": BO, "cy": "@cy:localhost"}
    rooms = {c.key: c.addresses()["matrix"] for c in alliance.channels}
    assert rooms["staff"] == "!staffroom:matrix.other.org:8448"
    assert rooms["partners"] == "#partners:partner.example"


async def test_the_directory_finds_members_of_other_homeservers(
    tmp_path: Path, database: Database
) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 8, tzinfo=UTC))
    await load_alliance(database, _validated(tmp_path), ALLIANCE, actor="test", at=clock.now())
    directory = Directory(database, clock, Planner(database, clock, ["matrix"]))
    assert await directory.display_name("matrix", ANA) == "Ana (member)"
    assert await directory.role("matrix", BO) is Role.BACKBONE
    assert await directory.display_name("matrix", "@ana:localhost") is None  # another person
    async with database.session() as s:
        bo = await member_by_account(s, "matrix", BO)
        assert bo is not None and bo.handle == "bo"
        staff = await s.get(m.Channel, 1)
        assert staff is not None
    home = await directory.home("matrix", ANA)
    assert home is not None


def _event(sender: str, content: dict[str, Any], kind: str = "m.room.message") -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": f"$from-{sender}",
        "sender": sender,
        "origin_server_ts": 1_795_000_000_000,
        "content": content,
    }


def test_events_from_other_homeservers_translate() -> None:
    room = "!dm:partner.example"
    answer = translate.inbound(
        _event(ANA, {"msgtype": "m.text", "body": "We lack a shared calendar."}),
        room_id=room,
        own_user_id=BOT,
        is_direct=True,
    )
    assert isinstance(answer, MessageReceived)
    assert (answer.sender, answer.channel, answer.text) == (ANA, room, "We lack a shared calendar.")
    command = translate.inbound(
        _event(BO, {"msgtype": "m.text", "body": "!digest last week"}),
        room_id="!staffroom:matrix.other.org:8448",
        own_user_id=BOT,
        is_direct=False,
    )
    assert isinstance(command, CommandReceived)
    assert (command.sender, command.name, command.args) == (BO, "digest", "last week")
    star = translate.inbound(
        _event(
            BO,
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$answer", "key": "⭐"}},
            "m.reaction",
        ),
        room_id="!staffroom:matrix.other.org:8448",
        own_user_id=BOT,
        is_direct=False,
    )
    assert isinstance(star, Reacted) and star.sender == BO
    invite = [
        {
            "type": "m.room.member",
            "state_key": BOT,
            "sender": BO,
            "content": {"membership": "invite", "is_direct": True},
        }
    ]
    assert translate.invite_of(invite, BOT) == (BO, True)
    assert translate.direct_rooms({BO: ["!dm:matrix.other.org:8448"], ANA: [room]}) == {
        BO: ["!dm:matrix.other.org:8448"],
        ANA: [room],
    }
    reply = translate.reply_content(Reply(f"Thank you, {BO}"), answering="$x", mentions=[BO])
    assert reply["m.mentions"] == {"user_ids": [BO]}
