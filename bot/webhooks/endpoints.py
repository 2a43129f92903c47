"""Webhook endpoints as admins manage them: from the CLI (``alliance-bot webhook``) or the
alliance file's ``webhooks`` section. Every change is audited; a secret is shown once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.api.tokens import Role
from bot.domain.errors import UserError
from bot.domain.values import DeliveryKind, DeliveryStatus
from bot.storage.records import Delivery, Webhook
from bot.webhooks.courier import hold
from bot.webhooks.events import enqueue, prefix
from bot.webhooks.rules import DISABLE_AFTER, EVENTS, WebhookEvent, check_events, check_url

if TYPE_CHECKING:
    from bot.alliance.schema import WebhookSpec
from bot.webhooks.signing import new_secret


async def find(s: AsyncSession, key: str) -> Webhook:
    hook = await s.scalar(select(Webhook).where(Webhook.key == key, Webhook.removed_at.is_(None)))
    if hook is None:
        raise UserError(f"No webhook is called “{key}”; alliance-bot webhook list names them.")
    return hook


async def _audit(s: AsyncSession, at: datetime, actor: str, action: str, hook: Webhook) -> None:
    await audit.record(
        s,
        at=at,
        actor_member_id=None,
        actor=actor,
        action=f"webhook-{action}",
        object_kind="webhook",
        object_id=hook.key,
        detail={"host": urlsplit(hook.url).hostname or "", "role": hook.role},
    )


async def add(
    s: AsyncSession,
    key: str,
    url: str,
    *,
    role: Role,
    events: Sequence[str] = (),
    disable_after: int = DISABLE_AFTER,
    at: datetime,
    actor: str = "cli",
) -> tuple[Webhook, str]:
    """A new endpoint and its secret (shown once: give it to the receiver)."""
    taken = await s.scalar(select(Webhook.id).where(Webhook.key == key))
    if taken is not None:
        raise UserError(f"A webhook called “{key}” exists already; choose another name.")
    secret = new_secret()
    hook = Webhook(
        key=key,
        url=check_url(url),
        events=check_events(events),
        role=role.value,
        secret=secret,
        source="cli",
        disable_after=max(1, disable_after),
        active=True,
        failures=0,
        created_at=at,
    )
    s.add(hook)
    await s.flush()
    await _audit(s, at, actor, "add", hook)
    return hook, secret


async def rotate(s: AsyncSession, key: str, *, at: datetime, actor: str = "cli") -> str:
    hook = await find(s, key)
    if hook.source == "file":
        raise UserError(
            f"The webhook “{key}” takes its secret from ${hook.secret_env} (the alliance file): "
            "change that variable instead."
        )
    hook.secret = new_secret()
    await _audit(s, at, actor, "rotate", hook)
    return hook.secret


async def enable(s: AsyncSession, key: str, *, at: datetime, actor: str = "cli") -> int:
    """Back in service; its held events go out now. Returns how many were held."""
    hook = await find(s, key)
    hook.active, hook.failures, hook.retry_at = True, 0, None
    hook.disabled_at = hook.disabled_reason = None
    result = await s.execute(
        update(Delivery)
        .where(_rows_of(hook.id), Delivery.status == DeliveryStatus.HELD.value)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=at)
        .execution_options(synchronize_session=False)
    )
    await _audit(s, at, actor, "enable", hook)
    return int(getattr(result, "rowcount", 0) or 0)


async def disable(s: AsyncSession, key: str, *, at: datetime, actor: str = "cli") -> None:
    """Out of service: its events are kept (held) until it is enabled."""
    hook = await find(s, key)
    hook.active = False
    hook.disabled_at, hook.disabled_reason = at, f"disabled by {actor}"
    await hold(s, hook.id)
    await _audit(s, at, actor, "disable", hook)


async def remove(s: AsyncSession, key: str, *, at: datetime, actor: str = "cli") -> None:
    """Gone: its waiting events are cancelled."""
    hook = await find(s, key)
    hook.removed_at, hook.active, hook.secret = at, False, None
    await _cancel(s, hook.id)
    await _audit(s, at, actor, "remove", hook)


async def _cancel(s: AsyncSession, endpoint_id: int) -> None:
    await s.execute(
        update(Delivery)
        .where(
            _rows_of(endpoint_id),
            Delivery.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value]),
        )
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


async def ping(s: AsyncSession, key: str, *, at: datetime) -> None:
    """A ``ping`` event for the endpoint, through the outbox like any other."""
    hook = await find(s, key)
    await enqueue(s, at, WebhookEvent.PING, [(f"ping@{at.isoformat()}", {})], only=hook.id)


def _rows_of(endpoint_id: int) -> Any:
    return (Delivery.kind == DeliveryKind.WEBHOOK.value) & Delivery.dedupe_key.startswith(
        prefix(endpoint_id)
    )


@dataclass(frozen=True)
class Listed:
    hook: Webhook
    waiting: int
    held: int
    sent: int


async def listed(s: AsyncSession) -> list[Listed]:
    hooks = (
        await s.scalars(select(Webhook).where(Webhook.removed_at.is_(None)).order_by(Webhook.key))
    ).all()
    found = []
    for hook in hooks:
        counts = dict(
            (
                await s.execute(
                    select(Delivery.status, func.count(Delivery.id))
                    .where(_rows_of(hook.id))
                    .group_by(Delivery.status)
                )
            ).all()
        )
        found.append(
            Listed(
                hook,
                int(counts.get(DeliveryStatus.PENDING.value, 0))
                + int(counts.get(DeliveryStatus.SENDING.value, 0)),
                int(counts.get(DeliveryStatus.HELD.value, 0)),
                int(counts.get(DeliveryStatus.SENT.value, 0)),
            )
        )
    return found


class Changes(Protocol):
    added: list[str]
    changed: list[str]
    deactivated: list[str]


async def from_file(
    s: AsyncSession, report: Changes, specs: Sequence[WebhookSpec], *, at: datetime
) -> None:
    """The alliance file's ``webhooks``: added, updated, and those it no longer names removed.
    An endpoint disabled for failing stays disabled (``webhook enable`` says when it works)."""
    found = {h.key: h for h in (await s.scalars(select(Webhook))).all()}
    for spec in specs:
        values = {
            "url": spec.url,
            "events": sorted(set(spec.events)) or list(EVENTS),
            "role": spec.role,
            "secret_env": spec.secret_env,
            "secret": None,
            "source": "file",
            "disable_after": spec.disable_after,
        }
        hook = found.get(spec.key)
        if hook is None or hook.removed_at is not None:
            if hook is None:
                hook = Webhook(key=spec.key, created_at=at, failures=0)
                s.add(hook)
            hook.active, hook.removed_at = True, None
            hook.disabled_at = hook.disabled_reason = None
            report.added.append(f"webhook {spec.key}")
        elif any(getattr(hook, k) != v for k, v in values.items()):
            report.changed.append(f"webhook {spec.key}")
        for name, value in values.items():
            setattr(hook, name, value)
    named = {spec.key for spec in specs}
    for key, hook in found.items():
        if hook.source == "file" and hook.removed_at is None and key not in named:
            hook.removed_at, hook.active = at, False
            await _cancel(s, hook.id)
            report.deactivated.append(f"webhook {key}")
