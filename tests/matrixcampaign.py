"""Members of a Matrix campaign as the crash and failover tests drive them: fresh names, the
alliance file, and what each member saw of the bot (prompts, acknowledgements), on real nio
clients (tests/matrixmember.py)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from typing import Any

from adapters.matrix import translate
from tests.matrixmember import MemberClient

WAIT = 60.0
THANKS = "Thank you! Recorded"


def fresh_names(prefix: str, count: int) -> list[str]:
    """Member ids (and Matrix localparts) no other test has used: no direct chat exists yet."""
    tag = secrets.token_hex(3)
    return [f"{prefix}{tag}-{n:02d}" for n in range(count)]


def alliance_text(names: list[str], fire: datetime) -> str:
    members = "\n".join(
        f'  - {{id: {n}, name: "Member {n}", organisation: lib, matrix: "@{n}:localhost"}}'
        for n in names
    )
    return (
        "alliance: {name: In flight, default_timezone: UTC}\n"
        "organisations:\n"
        "  - {slug: lib, name: The Library, kind: library, country: DE, timezone: UTC}\n"
        f"members:\n{members}\n"
        "campaigns:\n"
        "  - key: weekly\n"
        "    name: Weekly\n"
        "    prompts: [name-a-barrier]\n"
        f"    audience: {{members: [{', '.join(names)}]}}\n"
        f'    schedule: "{fire.minute} {fire.hour} * * *"\n'
        "    timezone: UTC\n"
    )


# --- what members saw --------------------------------------------------------------------------


def prompts_of(member: MemberClient) -> list[str]:
    return [e for e, _r, c in member.from_bot() if c.get(translate.KIND_KEY) == "prompt"]


def acks_of(member: MemberClient, answer: str) -> list[str]:
    """The bodies of the bot's replies to the member's event ``answer``."""
    return [
        str(c.get("body", ""))
        for _e, _r, c in member.from_bot()
        if c.get(translate.REPLY_TO_KEY) == answer
    ]


async def answer(member: MemberClient, prompt: str, body: str, *, thread: bool = True) -> str:
    """As Element sends one: in the prompt's thread, or a plain message in the direct chat."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if thread:
        content["m.relates_to"] = translate.relation(prompt, None)
    return await member.send(member.seen[prompt][0], content)


async def accept_later(member: MemberClient, delay: float) -> None:
    """Accept the bot's direct chat ``delay`` seconds after the invitation, as people do."""
    member.accept_invites = False
    await member.wait(lambda: bool(member.client.invited_rooms), "be invited", WAIT)
    await asyncio.sleep(delay)
    member.accept_invites = True  # and any invitation after this one
    for room_id in list(member.client.invited_rooms):
        await member.client.join(room_id)


async def first_prompt(member: MemberClient) -> str:
    await member.wait(lambda: bool(prompts_of(member)), "see a prompt", WAIT)
    return prompts_of(member)[0]
