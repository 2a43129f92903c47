"""A member who has not yet accepted the bot's direct chat: the prompt waits for them (no failed
attempts), and one who declines is not invited again and again. Against a real Synapse."""

from __future__ import annotations

import secrets
import textwrap
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.storage import models as m
from bot.storage.records import Delivery
from tests.harness import with_accounts
from tests.harnesses.matrix import HarnessMaker, MatrixHarness
from tests.matrixmember import MemberClient

MONDAY = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def alliance(slow: str, shy: str) -> str:
    return with_accounts(
        textwrap.dedent(f"""\
        alliance: {{name: Invites, default_timezone: UTC}}
        organisations:
          - {{slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: UTC}}
        members:
          - {{id: {slow}, name: Slow, organisation: berlin-lib, <<{slow}>>}}
          - {{id: {shy}, name: Shy, organisation: berlin-lib, <<{shy}>>}}
        campaigns:
          - key: barriers
            name: Barriers
            prompts: [name-a-barrier]
            audience: {{members: [{slow}, {shy}]}}
            schedule: "0 6 * * *"
        """)
    )


async def deliveries(h: MatrixHarness) -> dict[str, Delivery]:
    """Each member's prompt delivery, by their handle in the alliance file."""
    async with h.runtime.db.session() as s:
        rows = await s.execute(
            select(m.Member.handle, Delivery)
            .join(Delivery, Delivery.member_id == m.Member.id)
            .where(Delivery.kind == "prompt")
        )
        return {handle: delivery for handle, delivery in rows.all()}


async def invited(member: MemberClient) -> str:
    await member.wait(lambda: bool(member.client.invited_rooms), "be invited")
    return str(next(iter(member.client.invited_rooms)))


async def test_the_prompt_waits_for_an_invitation_to_be_accepted(
    make_matrix: HarnessMaker,
) -> None:
    slow_key, shy_key = f"slow{secrets.token_hex(3)}", f"shy{secrets.token_hex(3)}"
    h = await make_matrix(MONDAY, alliance(slow_key, shy_key))
    slow, shy = h.members[slow_key], h.members[shy_key]
    for member in (slow, shy):
        member.accept_invites = False
    port = h.adapter.matrix_port
    port.join_timeout = 1.0

    await h.runtime.advance(MONDAY + timedelta(hours=1, minutes=1))
    rows = await deliveries(h)
    for key in (slow_key, shy_key):
        assert rows[key].status == "pending" and rows[key].attempts == 0
        assert (rows[key].last_error or "").startswith("waiting:")

    shy_room = await invited(shy)
    await shy.client.room_leave(shy_room)  # declines the invitation
    bot_rooms = port.client.rooms
    await port.wait_for(lambda: shy.user_id not in bot_rooms[shy_room].users, 20)

    # Two hours pass. Six attempts would have failed the prompt within about half an hour.
    await h.run_until(MONDAY + timedelta(hours=3), step=timedelta(minutes=10))
    rows = await deliveries(h)
    assert (rows[slow_key].status, rows[slow_key].attempts) == ("pending", 0)
    assert rows[shy_key].status == "failed"
    assert "declined the direct chat" in (rows[shy_key].last_error or "")
    assert set(shy.client.invited_rooms) <= {shy_room}  # not invited again after declining

    slow_room = await invited(slow)
    await slow.client.join(slow_room)
    await port.wait_for(lambda: slow.user_id not in bot_rooms[slow_room].invited_users, 20)
    await h.runtime.advance(h.clock.now() + timedelta(minutes=2))
    rows = await deliveries(h)
    assert rows[slow_key].status == "sent" and rows[slow_key].address == slow_room
    await slow.wait(
        lambda: any(room == slow_room for _ref, room, _c in slow.from_bot()), "see the prompt"
    )
