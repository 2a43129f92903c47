"""The fake Slack's file uploads: ``files.getUploadURLExternal``, the upload itself and
``files.completeUploadExternal``, as ``files_upload_v2`` calls them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiohttp import web

from tests.fakeslack_parts import SlackError


class FileUploads:
    """Mixed into ``FakeSlack``, which holds the state these methods use."""

    files: dict[str, dict[str, Any]]
    base: str
    _ids: Iterator[int]

    def _writable(self, channel: str) -> str:
        raise NotImplementedError

    def _files_getUploadURLExternal(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"filename": body.get("filename"), "length": body.get("length")}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/{file_id}"}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404)
        self.files[file_id]["content"] = await request.read()
        return web.Response(text=f"OK - {len(self.files[file_id]['content'])}")

    def _files_completeUploadExternal(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        channel = self._writable(str(body.get("channel_id") or ""))
        shared = []
        for item in body.get("files") or []:
            record = self.files.get(str(item.get("id")))
            if record is None or "content" not in record:
                raise SlackError("file_not_found")
            record.update(
                channel=channel,
                title=item.get("title"),
                initial_comment=body.get("initial_comment"),
            )
            shared.append({"id": item["id"], "title": item.get("title")})
        return {"ok": True, "files": shared}
