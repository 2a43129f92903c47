"""Staff star answers on a real Synapse (a ⭐ reaction; redacting it unstars); members share."""

from __future__ import annotations

import secrets
import textwrap
from datetime import UTC, datetime, timedelta

from nio import RoomRedactResponse
from sqlalchemy import select

from bot.storage.records import CheckIn
from tests.harness import with_accounts
from tests.harnesses.matrix import HarnessMaker, MatrixHarness
from tests.test_matrix_adapter import joined, room_of

MONDAY = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def alliance(alias: str) -> str:
    return with_accounts(
        textwrap.dedent(f"""\
        alliance: {{name: Matrix Stars, default_timezone: UTC}}
        organisations:
          - {{slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: UTC}}
          - {{slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: UTC}}
        members:
          - {{id: berta, name: Berta, organisation: berlin-lib, <<berta>>}}
          - {{id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}}
        channels:
          - {{key: lounge, name: Lounge, purpose: members, matrix: "#{alias}:localhost"}}
        campaigns:
          - key: barriers
            name: Barriers
            prompts: [name-a-barrier]
            deliver_to: [lounge]
            schedule: "0 6 * * *"
        """)
    )


async def starred(h: MatrixHarness) -> dict[int, bool]:
    async with h.runtime.db.session() as s:
        return {c.id: c.starred for c in (await s.scalars(select(CheckIn))).all()}


def star(target: str) -> dict[str, object]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": "\u2b50"}}


async def test_a_staff_star_reaction_stars_an_answer_until_it_is_redacted(
    make_matrix: HarnessMaker,
) -> None:
    alias = f"lounge{secrets.token_hex(3)}"
    h = await make_matrix(MONDAY, alliance(alias))
    bot, bo, berta = h.bot, h.members["bo"], h.members["berta"]
    lounge = await room_of(bo, [berta.user_id, bot.user_id], alias=alias)
    await berta.client.join(lounge)
    for user in (bot.user_id, berta.user_id):
        await joined(bo, lounge, user)

    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    [prompt] = [ref for ref, room, _c in berta.from_bot() if room == lounge]
    thanks = await h.reply("berta", prompt, "Nobody owns the shared calendar.")
    [answer] = [c for c in (await starred(h))]
    # Matrix has no buttons: the thank-you names the command that shares the answer.
    assert thanks[0].endswith(f"Share with the alliance: !share {answer}")
    async with h.runtime.db.session() as s:
        checkin = await s.get(CheckIn, answer)
        assert checkin is not None and checkin.event_ref
        answer_event = checkin.event_ref

    # Berta's own ⭐ means nothing to the digest, and reactions get no reply.
    own = await berta.send(lounge, star(answer_event), "m.reaction")
    assert await h.replies_to("berta", own) == []
    assert await starred(h) == {answer: False}

    staff_star = await bo.send(lounge, star(answer_event), "m.reaction")
    assert await h.replies_to("bo", staff_star) == []
    assert await starred(h) == {answer: True}
    digest = await h.command("bo", "digest")
    assert "Starred answers" in digest[-1] and "Nobody owns the shared calendar." in digest[-1]

    undo = await bo.client.room_redact(lounge, staff_star)
    assert isinstance(undo, RoomRedactResponse), undo
    assert await h.replies_to("bo", str(undo.event_id)) == []
    assert await starred(h) == {answer: False}
    assert "Nobody owns" not in (await h.command("berta", "highlights"))[-1]
    shared = await h.command("berta", "share", str(answer))
    assert shared[-1].startswith(f"Check-in #{answer} may now appear")
    assert "Nobody owns the shared calendar." in (await h.command("berta", "highlights"))[-1]
