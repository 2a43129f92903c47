"""“Skip this time” skips the prompt it was pressed on, and only that one (issue 15): never the
presser's own latest prompt instead, never someone else's, never one already answered. Through
the real Slack harness (signed interactions to the bolt app, the fake Web API)."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.records import CheckIn, Delivery
from tests.harnesses.slack import SlackHarness, block_action
from tests.test_slack_adapter import button, h, prompts

__all__ = ["h"]  # the harness fixture


async def statuses(h: SlackHarness) -> dict[str, str]:
    """Each of Berta's prompts' status, by its Slack message reference."""
    async with h.runtime.db.session() as s:
        rows = (
            await s.execute(
                select(Delivery.message_ref, Delivery.status).where(Delivery.kind == "prompt")
            )
        ).all()
    return {str(ref): str(status) for ref, status in rows if ref}


async def press_skip(h: SlackHarness, user: str, message_ref: str) -> list[str]:
    message = h.fake.find(message_ref)
    assert message is not None
    action = block_action(user, message, button(message, "alliance_skip"))
    return await h.replies_to(h.slack.interaction(action))


async def test_skip_acts_only_on_the_members_own_open_prompt(h: SlackHarness) -> None:
    found = await prompts(h)
    choice, text, number = found["choice"].ref, found["text"].ref, found["number"].ref
    before = await statuses(h)

    # Bo presses Skip on Berta's prompt: not his question; nothing of his or hers is skipped.
    refused = await press_skip(h, "U0BO", number)
    assert "not a question of yours" in refused[0] and "nothing was skipped" in refused[0]
    assert await statuses(h) == before

    # Berta answers the choice, then presses Skip on it: no longer open, the answer stays.
    await h.pick("berta", choice, "Yes")
    late = await press_skip(h, "U0BERTA", choice)
    assert "no longer open" in late[0]
    async with h.runtime.db.session() as s:
        assert len((await s.scalars(select(CheckIn))).all()) == 1
    assert (await statuses(h))[choice] == before[choice]

    # Skip on the text prompt skips that one, and the number prompt is still open.
    skipped = await press_skip(h, "U0BERTA", text)
    assert "Skipped" in skipped[0]
    after = await statuses(h)
    assert after[text] == "skipped" and after[number] == "sent"
