"""The one retry policy: what a send's result means for its outbox row.

Pure rules, no I/O: the dispatcher sends, then asks :func:`outcome` what to write. Every
adapter's failures arrive here as the core's types (``bot.ports``): ``RateLimited`` waits as
long as the platform asked, ``Waiting`` checks again without using an attempt,
``Unreachable`` backs off without using one (nothing was posted), ``Rejected`` gives up at
once, and anything else backs off exponentially with full jitter.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.values import DeliveryStatus
from bot.ports import RateLimited, Rejected, Unreachable, Waiting

log = logging.getLogger(__name__)
Values = dict[str, Any]
RELEASED: Values = {"claimed_by": None, "claimed_until": None}
"""Every outcome ends the claim."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    max_wait_seconds: float = 3 * 86400.0
    """How long a send may wait on the person (``Waiting``) after it fell due."""

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter around the nominal delay."""
        nominal = min(self.max_seconds, self.base_seconds * 2.0 ** max(attempt - 1, 0))
        return float(nominal * random.uniform(0.5, 1.5))

    def outage_delay(self, waited: float) -> float:
        """While a platform cannot be reached: a try every half of the time waited so far,
        at least ``base_seconds`` and at most five minutes, with jitter."""
        nominal = min(300.0, max(self.base_seconds, waited / 2))
        return float(nominal * random.uniform(0.5, 1.5))


def given_up(reason: str, **extra: Any) -> Values:
    return {
        **RELEASED,
        "status": DeliveryStatus.FAILED.value,
        "last_error": reason[:2000],
        "next_attempt_at": None,
        **extra,
    }


def later(at: datetime, reason: str | None, **extra: Any) -> Values:
    """Back in the queue, due at ``at``."""
    return {
        **RELEASED,
        "status": DeliveryStatus.PENDING.value,
        "next_attempt_at": at,
        "last_error": reason[:2000] if reason else None,
        **extra,
    }


def outcome(
    policy: RetryPolicy,
    exc: BaseException,
    *,
    delivery_id: int,
    attempts: int,
    scheduled_at: datetime,
    now: datetime,
) -> Values:
    """The row's new values after a send failed with ``exc``."""
    if isinstance(exc, RateLimited):
        until = now + timedelta(seconds=max(exc.retry_after, 0.05))
        return later(until, f"rate limited: {exc}")
    if isinstance(exc, Waiting):
        waited = (now - scheduled_at).total_seconds()
        if waited >= policy.max_wait_seconds:
            log.warning("delivery %s: gave up waiting after %.0f h", delivery_id, waited / 3600)
            return given_up(f"gave up waiting after {waited / 3600:.0f} h: {exc}")
        return later(now + timedelta(seconds=max(exc.retry_after, 1.0)), f"waiting: {exc}")
    if isinstance(exc, Unreachable):  # the adapter logs the outage once, not per row
        waited = (now - scheduled_at).total_seconds()
        if waited >= policy.max_wait_seconds:
            log.warning("delivery %s: gave up after %.0f h unreachable", delivery_id, waited / 3600)
            return given_up(f"unreachable for {waited / 3600:.0f} h: {exc}")
        return later(now + timedelta(seconds=policy.outage_delay(waited)), f"unreachable: {exc}")
    if isinstance(exc, Rejected):
        log.warning("delivery %s refused: %s", delivery_id, exc)
        return given_up(str(exc))
    attempts += 1
    error = f"{type(exc).__name__}: {exc}"
    if attempts >= policy.max_attempts:
        log.error("delivery %s failed for good after %d attempts: %s", delivery_id, attempts, error)
        return given_up(error, attempts=attempts)
    delay = policy.delay(attempts)
    log.warning(
        "delivery %s failed (attempt %d), retrying in %.0fs: %s",
        delivery_id,
        attempts,
        delay,
        error,
    )
    return later(now + timedelta(seconds=delay), error, attempts=attempts)
