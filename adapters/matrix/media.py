"""Files in Matrix events, both ways: a member's picture or file (its caption is an answer),
and the content of a file the bot posts. Pure, like ``translate``."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

HTML_FORMAT = "org.matrix.custom.html"
MEDIA_TYPES = ("m.image", "m.file", "m.video", "m.audio")


def html_lines(text: str) -> str:
    return "<br>".join(html.escape(line, quote=False) for line in text.splitlines())


def media_caption(content: Mapping[str, Any]) -> str | None:
    """A media message's caption ("" when it has none); None when ``content`` is not media
    (``m.image``, ``m.file``, ``m.video``, ``m.audio``). As the spec has it (v1.10): with a
    ``filename`` that differs from ``body``, the ``body`` is the caption; otherwise the ``body``
    is only the file's name."""
    if content.get("msgtype") not in MEDIA_TYPES:
        return None
    body = str(content.get("body", "")).strip()
    filename = content.get("filename")
    if not isinstance(filename, str) or not filename.strip() or body == filename.strip():
        return ""
    return body


def png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def file_content(
    *,
    filename: str,
    mime_type: str,
    size: int,
    caption: str,
    url: str | None = None,
    encrypted_file: Mapping[str, Any] | None = None,
    data_head: bytes = b"",
    alt: str = "",
) -> dict[str, Any]:
    """``m.image`` (or ``m.file``) for an upload; encrypted rooms get ``file``, not ``url``.

    An image's ``alt`` (what it shows, in words) follows the caption in ``body``: the text
    clients give screen readers, and show where the image cannot be shown."""
    caption = "\n\n".join(part for part in (caption, alt) if part)
    info: dict[str, Any] = {"mimetype": mime_type, "size": size}
    dimensions = png_size(data_head) if mime_type == "image/png" else None
    if dimensions:
        info["w"], info["h"] = dimensions
    content: dict[str, Any] = {
        "msgtype": "m.image" if mime_type.startswith("image/") else "m.file",
        "body": caption or filename,
        "filename": filename,
        "info": info,
        "m.mentions": {},
    }
    if caption:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = html_lines(caption)
    if encrypted_file is not None:
        content["file"] = dict(encrypted_file)
    else:
        content["url"] = url
    return content
