"""What the alliance file writes for Slack: a member's ``TEAM:USER`` account and a channel id;
and what people type before a command there (``COMMAND_PREFIX``, a slash command).

Pure (no Slack library), so ``alliance-bot alliance validate`` checks Slack ids without the
``slack`` extra installed.
"""

from __future__ import annotations

import re

from adapters.i18n import _

COMMAND_PREFIX = "/"
"""``/digest``: Slack's slash commands (a bare command word also works at the top of the DM)."""
HOW_TO_TYPE = _(
    "On Slack, type a command in our direct chat (checkin, mydata, digest…); /checkin, "
    "/digest, /campaign and /alliance-help also work in any channel."
)
USER = re.compile(r"^(T[A-Z0-9]{2,})[:/](U|W)[A-Z0-9]{2,}$")
CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def member_account(value: str) -> str:
    """``T01ABCDEF:U02GHIJKL`` (``TEAM/USER`` also taken), stored as ``TEAM:USER``."""
    if not USER.match(value):
        raise ValueError(f"slack “{value}” should be TEAM:USER ids, like T01ABCDEF:U02GHIJKL.")
    return value.replace("/", ":")


def channel_address(value: str) -> str:
    if not CHANNEL.match(value):
        raise ValueError(
            f"slack “{value}” should be a channel id like C0123ABCD "
            "(right-click the channel, Copy link: the id is at its end)."
        )
    return value
