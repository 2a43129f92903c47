"""Staff star answers on Slack: a :star: reaction on an answer, or the digest's buttons."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.ports import COMMAND_BUTTON
from bot.storage.records import CheckIn
from tests.fakeslack_parts import Message, dm_of
from tests.harness import with_accounts
from tests.harnesses.slack import TEAM, SlackHarness, block_action, message_event

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
GENERAL = "C0GENERAL"
ALLIANCE = with_accounts(f"""\
alliance: {{name: Slack Stars, default_timezone: UTC}}
organisations:
  - {{slug: berlin-lib, name: Berlin Lib, kind: library, country: DE, timezone: UTC}}
  - {{slug: lyon-bm, name: Lyon BM, kind: library, country: FR, timezone: UTC}}
  - {{slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: UTC}}
members:
  - {{id: berta, name: Berta, organisation: berlin-lib, <<berta>>}}
  - {{id: lou, name: Lou, organisation: lyon-bm, <<lou>>}}
  - {{id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}}
channels:
  - {{key: general, name: General, purpose: members, slack: {GENERAL}}}
campaigns:
  - key: barriers
    name: Barriers
    prompts: [name-a-barrier]
    deliver_to: [general]
    schedule: "0 9 * * *"
    timezone: UTC
""")
_ids = itertools.count(1)


@pytest.fixture
async def h(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_url: str
) -> AsyncIterator[SlackHarness]:
    harness = await SlackHarness.create(request, tmp_path, sqlite_url, START, ALLIANCE)
    await harness.runtime.start()
    try:
        yield harness
    finally:
        await harness.runtime.stop()
        await harness.stop()


def reaction(user: str, ref: str, name: str = "star", *, removed: bool = False) -> dict[str, Any]:
    channel, ts = ref.split(":")
    n = next(_ids)
    return {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"EvREACT{n:06d}",
        "event_time": int(time.time()),
        "event": {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user,
            "reaction": name,
            "item_user": "U0BERTA",
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": f"{time.time():.6f}",
        },
    }


async def answers(h: SlackHarness) -> dict[str, CheckIn]:
    """Berta and Lou answer the channel prompt in its thread; their check-ins by member."""
    await h.runtime.advance(datetime(2026, 11, 23, 9, 1, tzinfo=UTC))
    [prompt] = h.fake.channel(GENERAL)
    await h.reply("berta", prompt.ref, "Nobody owns the shared calendar.")
    await h.reply("lou", prompt.ref, "Our partners meet at different hours.")
    async with h.runtime.db.session() as s:
        rows = (await s.scalars(select(CheckIn).order_by(CheckIn.id))).all()
    assert len(rows) == 2
    return {"berta": rows[0], "lou": rows[1]}


async def starred(h: SlackHarness) -> set[int]:
    async with h.runtime.db.session() as s:
        return set((await s.scalars(select(CheckIn.id).where(CheckIn.starred))).all())


async def test_a_staff_star_reaction_stars_the_answer_and_taking_it_off_unstars(
    h: SlackHarness,
) -> None:
    found = await answers(h)
    berta = found["berta"]
    assert berta.event_ref and berta.event_ref.startswith(f"{GENERAL}:")
    before = len(h.fake.calls)
    # A member's own star means nothing to the digest; an other emoji from staff neither.
    assert await h.replies_to(h.slack.event(reaction("U0BERTA", berta.event_ref))) == []
    assert await h.replies_to(h.slack.event(reaction("U0BO", berta.event_ref, "tada"))) == []
    assert await starred(h) == set()
    star = reaction("U0BO", berta.event_ref)
    assert await h.replies_to(h.slack.event(star)) == []
    assert await starred(h) == {berta.id}
    digest = await h.command("bo", "digest")
    assert "Starred answers" in digest[-1] and "Nobody owns the shared calendar." in digest[-1]
    await h.replies_to(h.slack.event(star))  # Slack's retry of the same event changes nothing
    off = reaction("U0BO", berta.event_ref, "star2", removed=True)
    assert await h.replies_to(h.slack.event(off)) == []
    assert await starred(h) == set()
    posted = [c for c in list(h.fake.calls)[before:] if c.method.startswith("chat.post")]
    assert all("digest" in str(c.body.get("text", "")).lower() for c in posted), posted


def digest_in_dm(h: SlackHarness) -> Message:
    return [m for m in h.fake.channel(dm_of("U0BO")) if m.text.startswith("Digest")][-1]


def accessories(message: Message) -> list[dict[str, Any]]:
    return [b["accessory"] for b in message.blocks if b.get("accessory")]


async def test_the_digest_buttons_star_and_unstar_answers(h: SlackHarness) -> None:
    found = await answers(h)
    berta, lou = found["berta"].id, found["lou"].id
    typed = message_event("U0BO", dm_of("U0BO"), "digest")
    await h.replies_to(h.slack.event(typed))
    digest = digest_in_dm(h)
    buttons = [a for a in accessories(digest) if a["type"] == "button"]
    assert {b["value"] for b in buttons} == {f"star {berta}", f"star {lou}"}
    assert all(b["action_id"] == COMMAND_BUTTON for b in buttons)
    [menu] = [a for a in accessories(digest) if a["type"] == "static_select"]
    assert [o["value"] for o in menu["options"]] == [f"star {berta}", f"star {lou}"]

    press = block_action("U0BO", digest, {**buttons[0], "block_id": "b1"})
    replies = await h.replies_to(h.slack.interaction(press))
    wanted = int(buttons[0]["value"].split()[1])
    assert replies == [f"Check-in #{wanted} is starred: it leads the digest's highlights. "
                       f"“unstar {wanted}” takes it back."]  # fmt: skip
    assert await starred(h) == {wanted}
    assert await h.replies_to(h.slack.interaction(press)) == []  # Slack's retry: said once
    press = block_action("U0BO", digest, {**buttons[0], "block_id": "b1"})
    replies = await h.replies_to(h.slack.interaction(press))  # pressed again: no toggle
    assert replies == [f"Check-in #{wanted} is already starred."]

    other = lou if wanted == berta else berta
    option = next(o for o in menu["options"] if o["value"] == f"star {other}")
    pick = block_action("U0BO", digest, {**menu, "block_id": "b2", "selected_option": option})
    await h.replies_to(h.slack.interaction(pick))
    assert await starred(h) == {berta, lou}

    await h.replies_to(h.slack.event(message_event("U0BO", dm_of("U0BO"), "digest")))
    again = digest_in_dm(h)
    buttons = [a for a in accessories(again) if a["type"] == "button"]
    assert {b["value"] for b in buttons} == {f"unstar {berta}", f"unstar {lou}"}
    assert "*Starred answers*" in str(again.blocks)
    unstar = block_action("U0BO", again, {**buttons[0], "block_id": "b3"})
    assert "no longer starred" in (await h.replies_to(h.slack.interaction(unstar)))[0]
    assert len(await starred(h)) == 1


async def test_a_member_pressing_a_star_button_is_told_it_is_for_staff(h: SlackHarness) -> None:
    found = await answers(h)
    await h.replies_to(h.slack.event(message_event("U0BO", dm_of("U0BO"), "digest")))
    digest = digest_in_dm(h)
    button = next(a for a in accessories(digest) if a["type"] == "button")
    forged = block_action("U0LOU", digest, {**button, "block_id": "b1"})
    replies = await h.replies_to(h.slack.interaction(forged))
    assert replies == ["Starring answers for the digest is for the backbone team."]
    assert await starred(h) == set() and found


async def test_the_thank_you_offers_sharing_with_the_alliance(h: SlackHarness) -> None:
    found = await answers(h)
    berta = found["berta"].id
    [thanks] = [e for e in h.fake.ephemerals if e.user == "U0BERTA"]
    assert thanks.channel == GENERAL  # only Berta sees it, in the prompt's thread
    [row] = [b for b in thanks.blocks if b["type"] == "actions"]
    [button] = row["elements"]
    assert (button["text"]["text"], button["value"]) == (
        "Share with the alliance",
        f"share {berta}",
    )
    press = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": "U0BERTA", "team_id": TEAM},
        "api_app_id": "A0APP",
        "trigger_id": "share.trigger",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000001",
            "channel_id": GENERAL,
            "is_ephemeral": True,
            "thread_ts": thanks.thread_ts,
        },
        "channel": {"id": GENERAL, "name": "general"},
        "actions": [{**button, "block_id": row["block_id"], "action_ts": f"{time.time():.6f}"}],
    }
    replies = await h.replies_to(h.slack.interaction(press))
    assert replies == [
        f"Check-in #{berta} may now appear in the alliance-wide highlights. "
        f"“unshare {berta}” takes it back."
    ]
    post = await h.replies_to(h.slack.event(message_event("U0LOU", dm_of("U0LOU"), "highlights")))
    assert "Nobody owns the shared calendar." in post[-1]
    assert "Our partners meet" not in post[-1]  # Lou did not share hers
