"""Images this process has uploaded, to show again without uploading them again.

A digest's chart is the same picture for every ``/digest`` of one period and measure set, and
the core draws it once. Slack shows a file it already has with an image block naming the file
(``slack_file``), in any message of a channel the file was shared in. So the port remembers
each image it uploaded by its content's hash and the channel, and the next time posts that
block instead of the file. The file ids are kept in memory, and (once the adapter hands over
the bot's small state store, ``keep_in``) in the database too, the last few per channel: after
a restart, or in another worker, the chart Slack already has is shown again as well.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from typing import Any, Protocol

from adapters.slack.mrkdwn import escape
from adapters.slack.translate import PLATFORM
from bot.ports import Attachment

log = logging.getLogger(__name__)

SHOWN_AGAIN = frozenset({"image/png", "image/jpeg", "image/gif"})
"""The kinds of files Slack's image block can show (exports are uploaded each time)."""
KEPT_PER_CHANNEL = 8
"""File ids kept per channel in the state store (a period's charts, by filter)."""


class StateStore(Protocol):
    """The bot's small saved state (``bot.edge.Lookups``), as far as uploads use it."""

    async def get_state(self, platform: str, name: str) -> str | None: ...

    async def set_state(self, platform: str, name: str, value: str) -> None: ...


class Uploaded:
    """The Slack file id of each image uploaded to a channel, by content; the oldest forgotten
    beyond ``limit``."""

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self._ids: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._store: StateStore | None = None

    def keep_in(self, store: StateStore) -> None:
        """Keep the file ids in ``store`` as well, to outlive this process."""
        self._store = store

    @staticmethod
    def _key(content: bytes, channel: str) -> tuple[str, str]:
        return hashlib.sha256(content).hexdigest(), channel

    def get(self, content: bytes, channel: str) -> str | None:
        key = self._key(content, channel)
        found = self._ids.get(key)
        if found is not None:
            self._ids.move_to_end(key)
        return found

    def remember(self, content: bytes, channel: str, file_id: str) -> None:
        self._ids[self._key(content, channel)] = file_id
        self._ids.move_to_end(self._key(content, channel))
        while len(self._ids) > self.limit:
            self._ids.popitem(last=False)

    def forget(self, content: bytes, channel: str) -> None:
        self._ids.pop(self._key(content, channel), None)

    # --- through the state store, when there is one -----------------------------------------

    async def find(self, content: bytes, channel: str) -> str | None:
        """The file id of ``content`` uploaded to ``channel``: from memory, else the store."""
        found = self.get(content, channel)
        if found is not None or self._store is None:
            return found
        digest = self._key(content, channel)[0]
        found = dict(await self._stored(channel)).get(digest)
        if found is not None:
            self.remember(content, channel, found)
        return found

    async def keep(self, content: bytes, channel: str, file_id: str | None) -> None:
        """Remember (or, with None, forget) ``content``'s file in ``channel``, in the store too."""
        if file_id is None:
            self.forget(content, channel)
        else:
            self.remember(content, channel, file_id)
        if self._store is None:
            return
        digest = self._key(content, channel)[0]
        kept = [(d, f) for d, f in await self._stored(channel) if d != digest]
        if file_id is not None:
            kept.append((digest, file_id))
        try:
            value = json.dumps(kept[-KEPT_PER_CHANNEL:])
            await self._store.set_state(PLATFORM, _name(channel), value)
        except Exception as exc:  # the chart was posted; only its reuse is lost
            log.warning("could not save an uploaded file's id: %r", exc)

    async def _stored(self, channel: str) -> list[tuple[str, str]]:
        assert self._store is not None
        try:
            raw = await self._store.get_state(PLATFORM, _name(channel))
            pairs = json.loads(raw) if raw else []
        except Exception as exc:  # a busy database or a bad row: upload as if new
            log.warning("could not read uploaded files' ids: %r", exc)
            return []
        if not isinstance(pairs, list):
            return []
        return [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]


def _name(channel: str) -> str:
    return f"uploads:{channel}"


ALT_LIMIT = 1000
"""Characters Slack keeps of a file's ``alt_txt`` (an image block's ``alt_text`` takes 2,000)."""


def alt_text(attachment: Attachment) -> str:
    """What a screen reader says for an image: the core's description (``Attachment.alt``),
    else its title, else its file name; cut to what Slack keeps."""
    words = attachment.alt or attachment.title or attachment.filename
    return words if len(words) <= ALT_LIMIT else words[: ALT_LIMIT - 1] + "…"


def image_payload(file_id: str, title: str, comment: str = "", alt: str = "") -> dict[str, Any]:
    """``chat.postMessage`` arguments showing an uploaded image again, with its title, its
    text alternative and the comment its upload would have had."""
    block: dict[str, Any] = {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": (alt or title)[:2000] or "image",
    }
    if title:
        block["title"] = {"type": "plain_text", "text": title[:2000]}
    blocks: list[dict[str, Any]] = [block]
    if comment:
        blocks.insert(
            0, {"type": "section", "text": {"type": "mrkdwn", "text": escape(comment[:2900])}}
        )
    return {"text": escape(comment or title or "image"), "blocks": blocks}
