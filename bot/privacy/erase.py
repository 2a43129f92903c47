"""``mydata delete all``: a member erases everything they told the bot, after confirming.

The first command says what would go and asks for ``mydata delete all confirm`` within
:data:`CONFIRM_WITHIN`; nothing is deleted before that. Then, in the command's transaction:
the member's check-ins with their earlier versions (and the stars and shares on them), the
outbox's copies of replies to the member and of others' replies quoting their answers
(deleted once sent, cancelled while waiting), and the files those replies carried; then the
files on disk that are their exports or quote them. Their membership and accounts stay: the
alliance file defines those. The audit log records the erasure with its counts only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import audit
from bot.domain.errors import UserError
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.i18n import Text, _, ngettext, translate
from bot.ports import Action, Reply
from bot.privacy.purge import OPEN, compact
from bot.privacy.traces import Traces, erase_files
from bot.storage import models as m
from bot.storage.records import CheckIn, CheckInRevision, Delivery, OutboxFile
from bot.webhooks import events as webhooks

CONFIRM_WITHIN = timedelta(minutes=10)
CONFIRM = "mydata delete all confirm"
SCAN = 500
"""Outbox rows read at a time while looking for the member's words."""
AfterCommit = Callable[[], Awaitable[None]]


def export_name(handle: str) -> str:
    """The file name of a member's own export (``mydata export``)."""
    return f"my-checkins-{handle}.csv"


async def delete_all(
    s: AsyncSession,
    member: m.Member,
    now: datetime,
    args: Sequence[str],
    *,
    folders: Sequence[Path] = (),
    after_commit: list[AfterCommit] | None = None,
) -> list[Reply]:
    """``mydata delete all [confirm]`` for ``member``; ``folders`` are where ports keep files
    on this machine, ``after_commit`` collects what runs once the erasure is committed."""
    words = [w.lower() for w in args]
    if not words:
        return await _ask(s, member, now)
    if words != ["confirm"]:
        raise UserError(
            _(
                "Type “mydata delete all” to see what it erases, then “{confirm}” to go ahead.",
                confirm=CONFIRM,
            )
        )
    requested = member.erase_requested_at
    if requested is None or requested > now:
        raise UserError(
            _(
                "Nothing was deleted: first type “mydata delete all”; I'll say what it erases "
                "and ask you to confirm with “{confirm}”.",
                confirm=CONFIRM,
            )
        )
    if now - requested > CONFIRM_WITHIN:
        raise UserError(
            _(
                "Nothing was deleted: that confirmation came more than 10 minutes after you "
                "asked. Type “mydata delete all” again if you still want to erase everything."
            )
        )
    erased, traces = await _erase(s, member, now)
    erased.files += await asyncio.to_thread(
        erase_files, folders, {export_name(member.handle)}, traces
    )
    member.erase_requested_at = None
    await audit.by_member(
        s,
        member,
        at=now,
        action="delete-all",
        object_kind="member",
        object_id=member.handle,
        detail=erased.detail(),
    )
    if after_commit is not None and isinstance(s.bind, AsyncEngine):
        engine = s.bind
        after_commit.append(lambda: compact(engine))
    return [Reply(translate(erased.sentence(), member.locale))]


async def _ask(s: AsyncSession, member: m.Member, now: datetime) -> list[Reply]:
    own = select(CheckIn.id).where(CheckIn.member_id == member.id)
    checkins = await s.scalar(select(func.count()).select_from(own.subquery()))
    versions = await s.scalar(
        select(func.count(CheckInRevision.id)).where(CheckInRevision.checkin_id.in_(own))
    )
    member.erase_requested_at = now
    rest = _(
        "the files you exported and the bot's copies of its replies quoting you. It cannot be "
        "undone. Your membership stays: the alliance file defines it."
    )
    what: Text
    checkins, versions = int(checkins or 0), int(versions or 0)
    if checkins and versions:
        what = ngettext(
            "This erases your {n} check-in (and {versions}), the stars and shares on it, {rest}",
            "This erases your {n} check-ins (and {versions}), the stars and shares on them, {rest}",
            checkins,
            versions=ngettext("{n} earlier version", "{n} earlier versions", versions),
            rest=rest,
        )
    elif checkins:
        what = ngettext(
            "This erases your {n} check-in, the stars and shares on it, {rest}",
            "This erases your {n} check-ins, the stars and shares on them, {rest}",
            checkins,
            rest=rest,
        )
    else:
        what = _("You have no check-ins stored; this erases {rest}", rest=rest)
    go = _("To go ahead, type “{confirm}” within 10 minutes.", confirm=CONFIRM)
    text = f"{translate(what, member.locale)}\n{translate(go, member.locale)}"
    button = translate(_("Delete everything"), member.locale)
    return [Reply(text, actions=(Action(button, CONFIRM),))]


@dataclass
class Erased:
    checkins: int = 0
    revisions: int = 0
    replies: int = 0
    files: int = 0

    def detail(self) -> dict[str, int]:
        return {
            "checkins": self.checkins,
            "revisions": self.revisions,
            "replies": self.replies,
            "files": self.files,
        }

    def sentence(self) -> Text:
        checkins = ngettext("{n} check-in", "{n} check-ins", self.checkins)
        if self.revisions:
            checkins = ngettext(
                "{checkins} with {n} earlier version",
                "{checkins} with {n} earlier versions",
                self.revisions,
                checkins=checkins,
            )
        return _(
            "Done: I erased your {checkins}, {replies} to you or quoting you and {files}. "
            "Nothing you told me is kept; your membership stays, as the alliance file defines "
            "it.",
            checkins=checkins,
            replies=ngettext("{n} stored reply", "{n} stored replies", self.replies),
            files=ngettext("{n} file", "{n} files", self.files),
        )


async def forget_checkin(
    s: AsyncSession, checkin: CheckIn, folders: Sequence[Path], now: datetime
) -> Erased:
    """Before ``mydata delete <id>``: the outbox's copies and the files that quote this
    check-in (or an earlier version of it) go too. Its own rows are the caller's to delete."""
    traces = _traces(await _answers(s, [checkin.id]))
    erased = Erased()
    await _copies(s, traces, set(), erased)
    erased.files += await asyncio.to_thread(erase_files, folders, set(), traces)
    await webhooks.checkins_deleted(s, now, [checkin.id], "deleted")
    return erased


async def _answers(s: AsyncSession, ids: Sequence[int]) -> list[tuple[str, Any, Any]]:
    """The text, figure and choice of check-ins ``ids`` and of their earlier versions."""
    found: list[tuple[str, Any, Any]] = []
    for model, key in ((CheckIn, CheckIn.id), (CheckInRevision, CheckInRevision.checkin_id)):
        for part in _parts(ids):
            found += [
                (text, number, choice)
                for text, number, choice in (
                    await s.execute(
                        select(model.answer_text, model.answer_number, model.answer_choice).where(
                            key.in_(part)
                        )
                    )
                ).all()
            ]
    return found


def _traces(answers: Sequence[tuple[str, Any, Any]]) -> Traces:
    """Written answers only: a figure or a picked choice is not a person's words."""
    return Traces(text for text, number, choice in answers if number is None and choice is None)


async def _erase(s: AsyncSession, member: m.Member, now: datetime) -> tuple[Erased, Traces]:
    ids = list(
        (
            await s.scalars(
                select(CheckIn.id).where(CheckIn.member_id == member.id).order_by(CheckIn.id)
            )
        ).all()
    )
    traces = _traces(await _answers(s, ids))
    accounts = set(
        (
            await s.execute(
                select(m.Identity.platform, m.Identity.external_id).where(
                    m.Identity.member_id == member.id
                )
            )
        ).all()
    )
    erased = Erased()
    await _copies(s, traces, {(str(p), str(e)) for p, e in accounts}, erased)
    for part in _parts(ids):
        erased.revisions += _count(
            await s.execute(delete(CheckInRevision).where(CheckInRevision.checkin_id.in_(part)))
        )
        erased.checkins += _count(await s.execute(delete(CheckIn).where(CheckIn.id.in_(part))))
    await webhooks.checkins_deleted(s, now, ids, "erased")
    return erased, traces


async def _copies(
    s: AsyncSession, traces: Traces, accounts: set[tuple[str, str]], erased: Erased
) -> None:
    """Replies to ``accounts`` and replies or files quoting ``traces``: erased."""
    outbox = await _Outbox.scan(s, accounts, traces)
    erased.replies += len(outbox.done) + len(outbox.waiting)
    erased.files += await outbox.erase(s)


@dataclass
class _Outbox:
    """The reply rows (and files) that carry the member's words."""

    done: set[int] = field(default_factory=set)
    """Sent or given up: deleted."""
    waiting: set[int] = field(default_factory=set)
    """Not sent yet: cancelled, their text dropped."""
    files: set[int] = field(default_factory=set)
    """Files of those rows, and any other file quoting the member."""

    @classmethod
    async def scan(cls, s: AsyncSession, accounts: set[tuple[str, str]], traces: Traces) -> _Outbox:
        found = cls()
        status: dict[int, str] = {}
        after = 0
        while True:
            rows = (
                await s.execute(
                    select(Delivery.id, Delivery.status, Delivery.platform, Delivery.payload)
                    .where(Delivery.kind == DeliveryKind.REPLY.value, Delivery.id > after)
                    .order_by(Delivery.id)
                    .limit(SCAN)
                )
            ).all()
            for delivery_id, state, platform, payload in rows:
                status[delivery_id] = state
                if _to_member(platform, payload, accounts) or traces.in_text(
                    (payload or {}).get("reply")
                ):
                    found.add(delivery_id, state)
            if len(rows) < SCAN:
                break
            after = rows[-1][0]
        after = 0
        while True:
            files = (
                await s.execute(
                    select(OutboxFile.id, OutboxFile.delivery_id, OutboxFile.content)
                    .where(OutboxFile.id > after)
                    .order_by(OutboxFile.id)
                    .limit(50)
                )
            ).all()
            for file_id, delivery_id, content in files:
                if found.has(delivery_id) or traces.in_bytes(content):
                    found.files.add(file_id)
                    found.add(delivery_id, status.get(delivery_id, DeliveryStatus.PENDING.value))
            if len(files) < 50:
                break
            after = files[-1][0]
        return found

    def has(self, delivery_id: int) -> bool:
        return delivery_id in self.done or delivery_id in self.waiting

    def add(self, delivery_id: int, state: str) -> None:
        (self.waiting if state in OPEN else self.done).add(delivery_id)

    async def erase(self, s: AsyncSession) -> int:
        """Delete the files and sent replies, cancel the waiting ones; returns the files."""
        files = 0
        for part in _parts(sorted(self.files)):
            files += _count(await s.execute(delete(OutboxFile).where(OutboxFile.id.in_(part))))
        for part in _parts(sorted(self.done)):
            await s.execute(delete(Delivery).where(Delivery.id.in_(part)))
        for part in _parts(sorted(self.waiting)):
            await s.execute(
                update(Delivery)
                .where(Delivery.id.in_(part))
                .values(
                    status=DeliveryStatus.CANCELLED.value,
                    next_attempt_at=None,
                    payload={"erased": True},
                )
                .execution_options(synchronize_session=False)
            )
        return files


def _to_member(platform: str | None, payload: Any, accounts: set[tuple[str, str]]) -> bool:
    to = payload.get("to") if isinstance(payload, dict) else None
    return isinstance(to, dict) and (platform or to.get("platform"), to.get("sender")) in accounts


def _parts(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
