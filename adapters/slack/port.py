"""The Slack ChatPort: what to post where (a DM, a channel, a thread), looking before posting
again, on the calls of :mod:`adapters.slack.calls` (token, pacing and errors per workspace).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from adapters.slack.blocks import answered_payload, escape, message_payload, reply_payload
from adapters.slack.calls import DEFAULT_API, PortStats, SlackCalls, api_base
from adapters.slack.pacing import Pacing
from adapters.slack.respond import ResponseUrls, response_payload
from adapters.slack.translate import PLATFORM, account, message_ref, split_account, split_ref
from adapters.slack.uploads import SHOWN_AGAIN, Uploaded, alt_text, image_payload
from adapters.slack.workspaces import InstalledTokens, WorkspaceGone
from bot.ports import (
    Attachment,
    Clock,
    Destination,
    DestinationKind,
    Outgoing,
    PlatformError,
    Rejected,
    Reply,
    ReplyTo,
    Sent,
)

log = logging.getLogger(__name__)
__all__ = ["DEFAULT_API", "PortStats", "SlackPort", "api_base"]


class SlackPort(SlackCalls):
    """Posts for the core, through the token of the workspace each destination lies in."""

    platform = PLATFORM

    def __init__(
        self,
        token: str | None,
        clock: Clock,
        *,
        api_url: str | None = None,
        pacing: Pacing | None = None,
        timeout: float = 30.0,
        update_wait: float = 10.0,
        installed: InstalledTokens | None = None,
    ) -> None:
        super().__init__(
            token,
            clock,
            api_url=api_url,
            pacing=pacing,
            timeout=timeout,
            update_wait=update_wait,
            installed=installed,
        )
        self._dms: dict[str, str] = {}
        self._dm_users: dict[str, str] = {}
        self.uploaded = Uploaded()
        """Images uploaded before, shown again rather than uploaded again."""
        self.responses = ResponseUrls(self.api_url)
        """Slash commands' response URLs: their answers go there first."""

    def _where(self, to: Destination) -> tuple[str, str | None, str]:
        """(channel to post to, thread ts, pacing key) for a destination."""
        thread_channel, thread_ts = split_ref(to.thread) if to.thread else (None, None)
        if to.kind is DestinationKind.PERSON:
            try:
                team, user = split_account(to.target)
            except ValueError as exc:
                raise Rejected(str(exc)) from None
            if self.team_id is not None and team != self.team_id:
                raise Rejected(f"{to.target} belongs to another Slack workspace")
            return thread_channel or self._dms.get(user, user), thread_ts, user
        channel = thread_channel or to.target
        return channel, thread_ts, self._dm_users.get(channel, channel)

    def _remember_dm(self, user: str, channel: str, team: str | None = None) -> None:
        if team is not None:
            self.channels.learn(channel, team)
        if channel.startswith("D") and self._dms.get(user) != channel:
            self._dms[user] = channel
            self._dm_users[channel] = user

    async def _team(self, to: Destination) -> str | None:
        """The workspace ``to`` lies in (None with a single token: there is only one)."""
        if not self.workspaces.many:
            return None
        if to.kind is DestinationKind.PERSON:
            try:
                return split_account(to.target)[0]
            except ValueError as exc:
                raise Rejected(str(exc)) from None
        channel = split_ref(to.thread)[0] if to.thread else to.target
        return await self.channel_team(channel)

    async def post(
        self,
        channel: str,
        payload: Mapping[str, Any],
        thread_ts: str | None = None,
        *,
        key: str | None = None,
        priority: bool = False,
        team: str | None = None,
    ) -> tuple[str, str]:
        """chat.postMessage, paced (``priority``: ahead of the queue); (channel, ts)."""
        pace_key = key or self._dm_users.get(channel, channel)
        response = await self._call(
            lambda c: c.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **payload,
            ),
            pace=lambda p: p.message(pace_key, priority=priority),
            team=team,
        )
        self.stats.posted += 1
        return str(response["channel"]), str(response["ts"])

    async def ephemeral(
        self,
        channel: str,
        user: str,
        payload: Mapping[str, Any],
        thread_ts: str | None = None,
        team: str | None = None,
    ) -> None:
        await self._call(
            lambda c: c.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **payload
            ),
            team=team,
        )

    async def dm_channel(self, user: str, team: str | None = None) -> str:
        """The bot's DM with ``user`` (conversations.open once, then from memory)."""
        if user not in self._dms:
            response = await self._call(
                lambda c: c.conversations_open(users=user),
                pace=lambda p: p.method("conversations.open"),
                team=team,
            )
            self._remember_dm(user, str(response["channel"]["id"]), team)
        return self._dms[user]

    async def open_view(
        self, trigger_id: str, view: Mapping[str, Any], team: str | None = None
    ) -> None:
        await self._call(lambda c: c.views_open(trigger_id=trigger_id, view=dict(view)), team=team)

    async def publish_home(
        self, user: str, view: Mapping[str, Any], team: str | None = None
    ) -> None:
        await self._call(lambda c: c.views_publish(user_id=user, view=dict(view)), team=team)

    # --- ChatPort ---------------------------------------------------------------------------

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        channel, thread_ts, key = self._where(to)
        team = await self._team(to)
        found = None
        if message.attempt and message.idempotency_key:
            found = await self._already_posted(
                channel, thread_ts, key, message.idempotency_key, team
            )
        if found is not None:
            posted, ts = found
            log.info("%s was posted before its response was lost; not again", message.delivery_id)
        else:
            payload = message_payload(message)
            posted, ts = await self.post(channel, payload, thread_ts, key=key, team=team)
        if to.kind is DestinationKind.PERSON:
            self._remember_dm(key, posted, team)
        return Sent(
            message_ref(posted, ts),
            thread_ref=message_ref(posted, thread_ts) if thread_ts else None,
            address=posted,
            sent_at=self.clock.now(),
        )

    async def _already_posted(
        self,
        channel: str,
        thread_ts: str | None,
        user: str,
        idempotency_key: str,
        team: str | None = None,
    ) -> tuple[str, str] | None:
        """(channel, ts) of a message an earlier attempt posted, found by the key in its
        metadata: chat.postMessage takes no idempotency key, and a failure may have come after
        Slack posted (a lost response). If Slack cannot be asked, the caller posts."""
        try:
            if not channel.startswith(("C", "G", "D")):
                channel = await self.dm_channel(user, team)
            if thread_ts:
                response = await self._call(
                    lambda c: c.conversations_replies(
                        channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
                    ),
                    pace=lambda p: p.method("conversations.replies"),
                    team=team,
                )
            else:
                response = await self._call(
                    lambda c: c.conversations_history(
                        channel=channel, limit=100, include_all_metadata=True
                    ),
                    pace=lambda p: p.method("conversations.history"),
                    team=team,
                )
        except (PlatformError, Rejected) as exc:
            log.info("could not look for an earlier post in %s (%s); posting", channel, exc)
            return None
        for found in response.get("messages") or []:
            payload = (found.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == idempotency_key and found.get("ts"):
                return channel, str(found["ts"])
        return None

    async def reply(self, to: ReplyTo, reply: Reply, *, key: str, attempt: int = 0) -> Sent:
        """In the DM (or thread) the event came from; in a channel, only to the person
        (ephemeral) unless the core says everyone may see it; where the bot cannot post (not in
        that channel), in the DM. Files go to the person's DM."""
        team, user = split_account(to.sender)
        payload = reply_payload(reply, key)
        where = await self._reply_post(to, (team, user), reply, payload, key, attempt)
        person = Destination(DestinationKind.PERSON, account(team, user))
        for file in reply.attachments:
            await self.upload(person, file, file.title)
        return Sent(message_ref(*where), address=where[0], sent_at=self.clock.now())

    async def _reply_post(
        self,
        to: ReplyTo,
        sender: tuple[str, str],
        reply: Reply,
        payload: dict[str, Any],
        key: str,
        attempt: int,
    ) -> tuple[str, str]:
        direct = to.is_direct or to.channel.startswith("D")
        user = sender[1]
        team = sender[0] if self.workspaces.many else None
        if to.answer_by is not None:  # a slash command: its response_url, else ephemeral
            if not attempt and await self._respond(to.answer_by, payload, reply.private):
                return to.channel, "response"
            direct = False
        try:
            if direct or not reply.private:
                found = None
                if attempt:
                    found = await self._already_posted(to.channel, to.thread, user, key, team)
                return found or await self.post(
                    to.channel, payload, to.thread, priority=True, team=team
                )
            await self.ephemeral(to.channel, user, payload, to.thread, team)
            return to.channel, "ephemeral"
        except Rejected as exc:
            if direct or isinstance(exc, WorkspaceGone):  # no DM would do better
                raise
            log.info("replying in %s failed (%s); using the DM", to.channel, exc)
            dm = await self.dm_channel(user, team)
            return await self.post(dm, payload, priority=True, team=team)

    async def _respond(self, answer_by: str, payload: dict[str, Any], private: bool) -> bool:
        """Post to a slash command's response_url; False when it cannot be used (the caller
        answers with chat.postEphemeral). A retry never comes here: the first try may have
        posted, and the URL's five uses are better not spent on doubts."""
        url = self.responses.usable(answer_by)
        if url is None:
            return False
        body = response_payload(payload, private)
        if self._closed:
            async with self._new_session() as session:
                return await self.responses.post(session, url, body)
        await self.open()
        assert self._session is not None
        return await self.responses.post(self._session, url, body)

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        """files_upload_v2 (getUploadURLExternal, the upload, completeUploadExternal); an image
        uploaded to the channel before (a digest's chart, asked for again: same period, filter
        and figures) is shown again from Slack's copy instead, after a restart too."""
        channel, thread_ts, key = self._where(to)
        team = await self._team(to)
        if not channel.startswith(("C", "G", "D")):
            channel = await self.dm_channel(channel, team)
        again = await self._show_again(channel, thread_ts, key, team, attachment, comment)
        if again is not None:
            return again
        response = await self._call(
            lambda c: c.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title or attachment.filename,
                alt_txt=alt_text(attachment) if attachment.mime_type in SHOWN_AGAIN else None,
                initial_comment=escape(comment) if comment else None,
                thread_ts=thread_ts,
            ),
            pace=lambda p: p.message(key),
            team=team,
        )
        file = response.get("file") or {}
        if attachment.mime_type in SHOWN_AGAIN and file.get("id"):
            await self.uploaded.keep(attachment.content, channel, str(file["id"]))
        return Sent(
            message_ref(channel, f"file-{file.get('id', '')}"),
            thread_ref=message_ref(channel, thread_ts) if thread_ts else None,
            address=channel,
            sent_at=self.clock.now(),
        )

    async def _show_again(
        self,
        channel: str,
        thread_ts: str | None,
        key: str,
        team: str | None,
        attachment: Attachment,
        comment: str,
    ) -> Sent | None:
        """The image already uploaded to ``channel``, posted again as an image block; None when
        there is none (or Slack no longer has it: then it is uploaded again)."""
        if attachment.mime_type not in SHOWN_AGAIN:
            return None
        file_id = await self.uploaded.find(attachment.content, channel)
        if file_id is None:
            return None
        payload = image_payload(
            file_id, attachment.title or attachment.filename, comment, alt_text(attachment)
        )
        try:
            posted, ts = await self.post(channel, payload, thread_ts, key=key, team=team)
        except Rejected as exc:  # deleted, or no longer shared there
            log.info("could not show %s again in %s (%s); uploading it", file_id, channel, exc)
            await self.uploaded.keep(attachment.content, channel, None)
            return None
        self.stats.images_reused += 1
        return Sent(
            message_ref(posted, ts),
            thread_ref=message_ref(posted, thread_ts) if thread_ts else None,
            address=posted,
            sent_at=self.clock.now(),
        )

    async def mark_answered(self, sent: Sent, to: Destination, summary: str) -> None:
        """Replace the prompt's buttons with “Answer received: …”. Cosmetic: the member has a
        reply already, so this is skipped when Slack's slots for it are far off, and a failure
        is only logged."""
        try:
            channel, ts = split_ref(sent.message_ref)
            team = await self.channel_team(channel)
            pacer = self.workspaces.pacer(team)
            if not await pacer.method("conversations.history", self.update_wait):
                self.stats.updates_skipped += 1
                return
            history = await self._call(
                lambda c: c.conversations_history(
                    channel=channel,
                    latest=ts,
                    oldest=ts,
                    inclusive=True,
                    limit=1,
                    include_all_metadata=True,
                ),
                team=team,
            )
            original = next((m for m in history.get("messages") or [] if m.get("ts") == ts), None)
            if original is None:
                log.info("prompt %s not found to mark answered", sent.message_ref)
                return
            payload = answered_payload(original, summary)
            if original.get("metadata"):
                payload["metadata"] = original["metadata"]
            if not await pacer.method("chat.update", self.update_wait):
                self.stats.updates_skipped += 1
                return
            await self._call(lambda c: c.chat_update(channel=channel, ts=ts, **payload), team=team)
        except (ValueError, PlatformError, Rejected) as exc:
            log.warning("could not mark %s answered: %s", sent.message_ref, exc)
