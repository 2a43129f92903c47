"""Where the core's replies go on Matrix.

In a direct chat: there, in the event's thread if it had one. In a shared room: there when the
reply is not private, or when the room is a staff room (so ``!digest`` answers in the staff
room it was asked in); otherwise in the member's direct chat, since Matrix has no messages only
one person in a room can see.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from adapters.matrix import translate
from adapters.matrix.port import MatrixPort
from bot.events import ChoicePicked, InboundEvent
from bot.ports import Reply
from bot.runtime import Runtime
from bot.storage import models as m

STAFF_ROOMS_TTL = 60.0


class Placement:
    def __init__(self, port: MatrixPort, runtime: Runtime) -> None:
        self.port = port
        self.runtime = runtime
        self._staff: set[str] = set()
        self._staff_at = float("-inf")

    async def staff_rooms(self) -> set[str]:
        """Room ids of the alliance's staff channels on Matrix (aliases resolved).

        The core offers no query for a channel's purpose, so this reads the channel tables.
        """
        if time.monotonic() - self._staff_at < STAFF_ROOMS_TTL:
            return self._staff
        async with self.runtime.db.session() as s:
            addresses = (
                await s.scalars(
                    select(m.ChannelAddress.address)
                    .join(m.Channel, m.Channel.id == m.ChannelAddress.channel_id)
                    .where(
                        m.ChannelAddress.platform == translate.PLATFORM,
                        m.Channel.purpose == "staff",
                        m.Channel.active,
                    )
                )
            ).all()
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

    async def in_room(self, event: InboundEvent, reply: Reply) -> bool:
        if event.is_direct or not reply.private:
            return True
        if event.channel in await self.staff_rooms():
            return True
        # A stranger gets their (impersonal) answer where they asked: no DM to strangers.
        return await self.runtime.directory.display_name(event.platform, event.sender) is None

    async def post(self, event: InboundEvent, reply: Reply, index: int) -> list[str]:
        """Post ``reply`` to ``event`` (and its files); the event ids posted."""
        thread = getattr(event, "thread", None)
        if await self.in_room(event, reply):
            room_id = event.channel
            mentions = [] if event.is_direct else [event.sender]
            if isinstance(event, ChoicePicked):
                reply_to = None if event.is_direct else event.message_ref
            elif thread or not event.is_direct:
                reply_to = event.event_id
            else:
                reply_to = None
        else:
            room_id = await self.port.dm_room(event.sender)
            thread, reply_to, mentions = None, None, []
        content = translate.reply_content(
            reply, answering=event.event_id, thread=thread, reply_to=reply_to, mentions=mentions
        )
        key = translate.transaction_id(f"{event.event_id}\x00{index}", self.port.salt)
        posted = [await self.port.post(room_id, "m.room.message", content, key)]
        for number, attachment in enumerate(reply.attachments):
            file = await self.port.file_content(room_id, attachment, attachment.title)
            file[translate.REPLY_TO_KEY] = event.event_id
            key = translate.transaction_id(
                f"{event.event_id}\x00{index}\x00{number}", self.port.salt
            )
            posted.append(await self.port.post(room_id, "m.room.message", file, key))
        return posted
