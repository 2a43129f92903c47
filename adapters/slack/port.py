"""The Slack ChatPort: posts through one AsyncWebClient on one shared aiohttp session, paced.

Errors leave as the core's types: a 429 is RateLimited (the pacer pauses every call, and the
outbox waits as long as Slack asked), a 5xx or a broken connection is PlatformError (retried with
backoff), and an answer that will not change (no such user, no access, bad token) is Rejected.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.blocks import answered_payload, escape, message_payload, reply_payload
from adapters.slack.errors import classify
from adapters.slack.pacing import Pacer, Pacing
from adapters.slack.translate import PLATFORM, account, message_ref, split_account, split_ref
from bot.ports import (
    Attachment,
    Clock,
    Destination,
    DestinationKind,
    Outgoing,
    PlatformError,
    RateLimited,
    Rejected,
    Reply,
    ReplyTo,
    Sent,
    Unreachable,
)

log = logging.getLogger(__name__)
DEFAULT_API = "https://slack.com/api/"
Call = Callable[[AsyncWebClient], Awaitable[AsyncSlackResponse]]


def api_base(url: str | None) -> str:
    """The Web API base URL as slack_sdk joins it: always ending in ``/api/``."""
    if not url:
        return DEFAULT_API
    url = url.rstrip("/")
    return (url if url.endswith("/api") else url + "/api") + "/"


@dataclass
class PortStats:
    calls: int = 0
    rate_limited: int = 0
    posted: int = 0
    updates_skipped: int = 0


class SlackPort:
    """One workspace's bot token. The session opens on first use (inside the running loop)."""

    platform = PLATFORM

    def __init__(
        self,
        token: str,
        clock: Clock,
        *,
        api_url: str | None = None,
        pacing: Pacing | None = None,
        timeout: float = 30.0,
        update_wait: float = 10.0,
    ) -> None:
        self._token = token
        self.update_wait = update_wait
        self.clock = clock
        self.api_url = api_base(api_url)
        self.pacing = pacing or Pacing()
        self.pacer = Pacer(self.pacing)
        self.timeout = timeout
        self.stats = PortStats()
        self.team_id: str | None = None
        self.bot_user_id: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._closed = False
        self._dms: dict[str, str] = {}
        self._dm_users: dict[str, str] = {}

    # --- lifecycle --------------------------------------------------------------------------

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=64),
        )

    def _client_on(self, session: aiohttp.ClientSession) -> AsyncWebClient:
        return AsyncWebClient(
            token=self._token,
            base_url=self.api_url,
            session=session,
            timeout=int(self.timeout),
            retry_handlers=[],  # 429s are ours to pace; other failures go to the outbox
        )

    async def open(self) -> AsyncWebClient:
        """The shared client on the shared session (created once, in the running loop)."""
        if self._client is None or self._session is None or self._session.closed:
            self._closed = False
            self._session = self._new_session()
            self._client = self._client_on(self._session)
        return self._client

    @property
    def client(self) -> AsyncWebClient:
        if self._client is None:
            raise RuntimeError("SlackPort.open() has not been awaited")
        return self._client

    async def close(self) -> None:
        """Close the shared session. A send after this (the runtime's last drain of the outbox
        runs after adapters stop) gets a session of its own, closed when it is done."""
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def identify(self) -> tuple[str, str]:
        """(team id, bot user id) from auth.test; a bad token fails here, at start."""
        if self.team_id is None or self.bot_user_id is None:
            response = await self._call(lambda c: c.auth_test())
            self.team_id, self.bot_user_id = str(response["team_id"]), str(response["user_id"])
        return self.team_id, self.bot_user_id

    # --- calls ------------------------------------------------------------------------------

    async def _call(
        self, call: Call, pace: Callable[[], Awaitable[None]] | None = None
    ) -> AsyncSlackResponse:
        if self._closed:
            async with self._new_session() as session:
                return await self._attempts(self._client_on(session), call, pace)
        return await self._attempts(await self.open(), call, pace)

    async def _attempts(
        self, client: AsyncWebClient, call: Call, pace: Callable[[], Awaitable[None]] | None
    ) -> AsyncSlackResponse:
        """One call, paced. A 429 pauses the pacer for everyone and leaves as RateLimited: what
        happens next is the outbox's one retry policy (``bot.retry``), not a loop here."""
        if pace is not None:
            await pace()
        self.stats.calls += 1
        try:
            return await call(client)
        except SlackApiError as exc:
            problem = classify(
                exc.response.status_code, exc.response.get("error"), exc.response.headers
            )
            if isinstance(problem, RateLimited):
                self.stats.rate_limited += 1
                self.pacer.pause(problem.retry_after)
                log.info("Slack asked to slow down for %.1f s", problem.retry_after)
            raise problem from exc
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was posted
            raise Unreachable(f"Slack unreachable: {type(exc).__name__}: {exc}") from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PlatformError(f"Slack failed: {type(exc).__name__}: {exc}") from exc

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

    def _remember_dm(self, user: str, channel: str) -> None:
        if channel.startswith("D") and self._dms.get(user) != channel:
            self._dms[user] = channel
            self._dm_users[channel] = user

    async def post(
        self,
        channel: str,
        payload: Mapping[str, Any],
        thread_ts: str | None = None,
        *,
        key: str | None = None,
        priority: bool = False,
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
            pace=lambda: self.pacer.message(pace_key, priority=priority),
        )
        self.stats.posted += 1
        return str(response["channel"]), str(response["ts"])

    async def ephemeral(
        self, channel: str, user: str, payload: Mapping[str, Any], thread_ts: str | None = None
    ) -> None:
        await self._call(
            lambda c: c.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **payload
            )
        )

    async def dm_channel(self, user: str) -> str:
        """The bot's DM with ``user`` (conversations.open once, then from memory)."""
        if user not in self._dms:
            response = await self._call(
                lambda c: c.conversations_open(users=user),
                pace=lambda: self._tier3("conversations.open"),
            )
            self._remember_dm(user, str(response["channel"]["id"]))
        return self._dms[user]

    async def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> None:
        await self._call(lambda c: c.views_open(trigger_id=trigger_id, view=dict(view)))

    async def publish_home(self, user: str, view: Mapping[str, Any]) -> None:
        await self._call(lambda c: c.views_publish(user_id=user, view=dict(view)))

    # --- ChatPort ---------------------------------------------------------------------------

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        channel, thread_ts, key = self._where(to)
        found = None
        if message.attempt and message.idempotency_key:
            found = await self._already_posted(channel, thread_ts, key, message.idempotency_key)
        if found is not None:
            posted, ts = found
            log.info("%s was posted before its response was lost; not again", message.delivery_id)
        else:
            posted, ts = await self.post(channel, message_payload(message), thread_ts, key=key)
        if to.kind is DestinationKind.PERSON:
            self._remember_dm(key, posted)
        return Sent(
            message_ref(posted, ts),
            thread_ref=message_ref(posted, thread_ts) if thread_ts else None,
            address=posted,
            sent_at=self.clock.now(),
        )

    async def _already_posted(
        self, channel: str, thread_ts: str | None, user: str, idempotency_key: str
    ) -> tuple[str, str] | None:
        """(channel, ts) of a message an earlier attempt posted, found by the key in its
        metadata: chat.postMessage takes no idempotency key, and a failure may have come after
        Slack posted (a lost response). If Slack cannot be asked, the caller posts."""
        try:
            if not channel.startswith(("C", "G", "D")):
                channel = await self.dm_channel(user)
            if thread_ts:
                response = await self._call(
                    lambda c: c.conversations_replies(
                        channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
                    ),
                    pace=lambda: self._tier3("conversations.replies"),
                )
            else:
                response = await self._call(
                    lambda c: c.conversations_history(
                        channel=channel, limit=100, include_all_metadata=True
                    ),
                    pace=lambda: self._tier3("conversations.history"),
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
        where = await self._reply_post(to, user, reply, payload, key, attempt)
        person = Destination(DestinationKind.PERSON, account(team, user))
        for file in reply.attachments:
            await self.upload(person, file, file.title)
        return Sent(message_ref(*where), address=where[0], sent_at=self.clock.now())

    async def _reply_post(
        self,
        to: ReplyTo,
        user: str,
        reply: Reply,
        payload: dict[str, Any],
        key: str,
        attempt: int,
    ) -> tuple[str, str]:
        direct = to.is_direct or to.channel.startswith("D")
        try:
            if direct or not reply.private:
                found = None
                if attempt:
                    found = await self._already_posted(to.channel, to.thread, user, key)
                return found or await self.post(to.channel, payload, to.thread, priority=True)
            await self.ephemeral(to.channel, user, payload, to.thread)
            return to.channel, "ephemeral"
        except Rejected as exc:
            if direct:
                raise
            log.info("replying in %s failed (%s); using the DM", to.channel, exc)
            return await self.post(await self.dm_channel(user), payload, priority=True)

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        """files_upload_v2 (getUploadURLExternal, the upload, completeUploadExternal)."""
        channel, thread_ts, key = self._where(to)
        if not channel.startswith(("C", "G", "D")):
            channel = await self.dm_channel(channel)
        response = await self._call(
            lambda c: c.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title or attachment.filename,
                initial_comment=escape(comment) if comment else None,
                thread_ts=thread_ts,
            ),
            pace=lambda: self.pacer.message(key),
        )
        file = response.get("file") or {}
        return Sent(
            message_ref(channel, f"file-{file.get('id', '')}"),
            thread_ref=message_ref(channel, thread_ts) if thread_ts else None,
            address=channel,
            sent_at=self.clock.now(),
        )

    async def _tier3(self, method: str) -> None:
        await self.pacer.method(method)

    async def mark_answered(self, sent: Sent, to: Destination, summary: str) -> None:
        """Replace the prompt's buttons with “Answer received: …”. Cosmetic: the member has a
        reply already, so this is skipped when Slack's slots for it are far off, and a failure
        is only logged."""
        try:
            channel, ts = split_ref(sent.message_ref)
            if not await self.pacer.method("conversations.history", self.update_wait):
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
                )
            )
            original = next((m for m in history.get("messages") or [] if m.get("ts") == ts), None)
            if original is None:
                log.info("prompt %s not found to mark answered", sent.message_ref)
                return
            payload = answered_payload(original, summary)
            if original.get("metadata"):
                payload["metadata"] = original["metadata"]
            if not await self.pacer.method("chat.update", self.update_wait):
                self.stats.updates_skipped += 1
                return
            await self._call(lambda c: c.chat_update(channel=channel, ts=ts, **payload))
        except (ValueError, PlatformError, Rejected) as exc:
            log.warning("could not mark %s answered: %s", sent.message_ref, exc)
