"""The ids that tie log lines together (delivery, member, platform, platform reference).

    with log_context(delivery_id=row.id, member_id=row.member_id, platform="slack"):
        log.info("sent")          # the JSON log line carries the three ids

The ids live in a context variable, so they follow the work into the tasks it starts and never
leak into another task's lines. Only ids go here, never text a member wrote.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

IDS = ("delivery_id", "member_id", "platform", "platform_ref")
"""The names the JSON log knows, in the order it writes them."""

_ids: contextvars.ContextVar[Mapping[str, str | int] | None] = contextvars.ContextVar(
    "alliance_bot_log_ids", default=None
)


@contextmanager
def log_context(**ids: str | int | None) -> Iterator[None]:
    """Add ``ids`` (names from :data:`IDS`; None leaves one out) to every line logged inside."""
    unknown = set(ids) - set(IDS)
    if unknown:
        raise TypeError(f"log_context() takes only {', '.join(IDS)}, not {sorted(unknown)}")
    given = {name: value for name, value in ids.items() if value is not None}
    token = _ids.set({**(_ids.get() or {}), **given})
    try:
        yield
    finally:
        _ids.reset(token)


def current_ids() -> Mapping[str, str | int]:
    """The ids in force here."""
    return _ids.get() or {}
