"""Images this process has uploaded, to show again without uploading them again.

A digest's chart is the same picture for every ``/digest`` of one period and measure set, and
the core draws it once. Slack shows a file it already has with an image block naming the file
(``slack_file``), in any message of a channel the file was shared in. So the port remembers
each image it uploaded by its content's hash and the channel, and the next time posts that
block instead of the file. Kept in memory, per process: after a restart, or in another worker,
the first chart of a period is uploaded once more.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from adapters.slack.mrkdwn import escape

SHOWN_AGAIN = frozenset({"image/png", "image/jpeg", "image/gif"})
"""The kinds of files Slack's image block can show (exports are uploaded each time)."""


class Uploaded:
    """The Slack file id of each image uploaded to a channel, by content; the oldest forgotten
    beyond ``limit``."""

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self._ids: OrderedDict[tuple[str, str], str] = OrderedDict()

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


def image_payload(file_id: str, title: str, comment: str = "") -> dict[str, Any]:
    """``chat.postMessage`` arguments showing an uploaded image again, with its title and the
    comment its upload would have had."""
    block: dict[str, Any] = {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": title[:2000] or "image",
    }
    if title:
        block["title"] = {"type": "plain_text", "text": title[:2000]}
    blocks: list[dict[str, Any]] = [block]
    if comment:
        blocks.insert(
            0, {"type": "section", "text": {"type": "mrkdwn", "text": escape(comment[:2900])}}
        )
    return {"text": escape(comment or title or "image"), "blocks": blocks}
