"""Files the bot posts on Matrix: uploaded to the media repository (encrypted when the room
is), then described in the event content that points at them."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from nio import UploadResponse

from adapters.matrix.client import TRANSPORT_ERRORS, BotClient
from adapters.matrix.media import file_content
from adapters.matrix.pacing import retry_after_seconds
from bot.ports import Attachment, PlatformError, RateLimited


async def upload_content(
    client: BotClient, room_id: str, attachment: Attachment, caption: str
) -> dict[str, Any]:
    """Upload ``attachment`` for ``room_id``; the content of the event that shows it."""
    room = client.rooms.get(room_id)
    encrypt = bool(room is not None and room.encrypted)
    try:
        response, keys = await client.upload(
            BytesIO(attachment.content),
            content_type=attachment.mime_type,
            filename=attachment.filename,
            encrypt=encrypt,
            filesize=len(attachment.content),
        )
    except TRANSPORT_ERRORS as exc:
        raise PlatformError(f"upload failed: {exc}") from exc
    if not isinstance(response, UploadResponse):
        code = str(getattr(response, "status_code", ""))
        if code == "M_LIMIT_EXCEEDED":
            raise RateLimited(retry_after_seconds(getattr(response, "retry_after_ms", None), None))
        raise PlatformError(f"upload failed: {code} {getattr(response, 'message', '')}")
    encrypted = {**keys, "url": response.content_uri} if encrypt and keys else None
    return file_content(
        filename=attachment.filename,
        mime_type=attachment.mime_type,
        size=len(attachment.content),
        caption=caption,
        url=None if encrypted else response.content_uri,
        encrypted_file=encrypted,
        data_head=attachment.content[:32],
        alt=attachment.alt if attachment.mime_type.startswith("image/") else "",
    )
