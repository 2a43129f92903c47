"""Where the core's replies go on Matrix.

In a direct chat: there, in the event's thread if it had one, else as a rich reply to it. In a
shared room: the same when the reply is not private, or when the room is a staff room (so
``!digest`` answers in the staff room it was asked in); otherwise in the member's direct chat,
since Matrix has no messages only one person in a room can see.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from adapters.matrix import translate
from bot.ports import Reply, ReplyTo

if TYPE_CHECKING:
    from adapters.matrix.port import MatrixPort
    from bot.edge import Core

STAFF_ROOMS_TTL = 60.0


class Placement:
    def __init__(self, port: MatrixPort, runtime: Core) -> None:
        self.port = port
        self.runtime = runtime
        self._staff: set[str] = set()
        self._staff_at = float("-inf")

    async def staff_rooms(self) -> set[str]:
        """Room ids of the alliance's staff channels on Matrix (aliases resolved)."""
        if time.monotonic() - self._staff_at < STAFF_ROOMS_TTL:
            return self._staff
        addresses = await self.runtime.directory.staff_channels(translate.PLATFORM)
        rooms = set()
        for address in addresses:
            if address.startswith("#"):
                resolved = self.port.aliases.get(address)
                if resolved is None:
                    try:
                        resolved = await self.port.resolve_alias(address)
                    except Exception:  # an unknown alias is simply not a staff room
                        continue
                rooms.add(resolved)
            else:
                rooms.add(address)
        self._staff, self._staff_at = rooms, time.monotonic()
        return rooms

    async def in_room(self, to: ReplyTo, reply: Reply) -> bool:
        if to.is_direct or not reply.private:
            return True
        if to.channel in await self.staff_rooms():
            return True
        # A stranger gets their (impersonal) answer where they asked: no DM to strangers.
        return await self.runtime.directory.display_name(to.platform, to.sender) is None

    async def post(self, to: ReplyTo, reply: Reply, key: str) -> tuple[str, list[str]]:
        """Post ``reply`` (and its files) where it belongs; the room and the event ids posted.
        Transaction ids derive from the reply's stable ``key``: a retry after a lost response
        is the same request to the homeserver, which posts it once."""
        thread = to.thread
        if await self.in_room(to, reply):
            room_id = to.channel
            mentions = [] if to.is_direct else [to.sender]
            # In the answer's thread (quoting nothing), else as a reply to the answer; a
            # reaction on a prompt is answered as a reply to that prompt.
            reply_to = to.about or to.event_id
        else:
            room_id = await self.port.dm_room(to.sender)
            thread, reply_to, mentions = None, None, []
        content = translate.reply_content(
            reply,
            answering=to.event_id,
            thread=thread,
            reply_to=reply_to,
            quote=False,
            mentions=mentions,
        )
        tx_id = translate.transaction_id(key, self.port.salt)
        posted = [await self.port.post(room_id, "m.room.message", content, tx_id)]
        for number, attachment in enumerate(reply.attachments):
            file = await self.port.file_content(room_id, attachment, attachment.title)
            file[translate.REPLY_TO_KEY] = to.event_id
            tx_id = translate.transaction_id(f"{key}\x00{number}", self.port.salt)
            posted.append(await self.port.post(room_id, "m.room.message", file, tx_id))
        return room_id, posted
