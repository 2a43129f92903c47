"""API tokens: made by ``alliance-bot api token create``, shown once, kept as a SHA-256.

A token is ``ab_`` and 43 random URL-safe characters (256 bits). The database holds its
SHA-256, its first characters (``prefix``, to tell tokens apart in a list), a name and a role;
a revoked token keeps its row. Nothing here logs a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.api.params import Unauthorized
from bot.domain.errors import UserError
from bot.storage.records import ApiToken

PREFIX = "ab_"
SHOWN_CHARS = 7
"""How much of a token ``api token list`` shows: ``ab_`` and 4 characters."""
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token (a read costs no write)."""
MAX_NAME = 100


class Role(StrEnum):
    STAFF = "staff"
    """Every check-in, with who answered."""
    READER = "reader"
    """Shared check-ins only, without who answered."""


@dataclass(frozen=True)
class Caller:
    """Who a request's token says is asking."""

    token_id: int
    name: str
    role: Role

    @property
    def staff(self) -> bool:
        return self.role is Role.STAFF


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


async def create(
    s: AsyncSession, name: str, role: Role, *, at: datetime, actor: str = "cli"
) -> tuple[ApiToken, str]:
    """A new token named ``name``: its row, and the token itself (shown once, never kept)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise UserError(f"A token's name is 1 to {MAX_NAME} printable characters.")
    if name.isdigit():
        raise UserError("A token's name needs a letter: a number names a token by its id.")
    taken = await s.scalar(
        select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    )
    if taken is not None:
        raise UserError(
            f"A token named “{name}” is already in use (id {taken}); revoke it first or "
            "choose another name."
        )
    token = new_token()
    row = ApiToken(
        name=name,
        role=role.value,
        token_hash=digest(token),
        prefix=token[:SHOWN_CHARS],
        created_at=at,
    )
    s.add(row)
    await s.flush()
    await audit.record(
        s,
        at=at,
        actor_member_id=None,
        actor=actor,
        action="api-token-create",
        object_kind="api-token",
        object_id=str(row.id),
        detail={"name": name, "role": role.value},
    )
    return row, token


async def listed(s: AsyncSession) -> list[ApiToken]:
    return list((await s.scalars(select(ApiToken).order_by(ApiToken.id))).all())


async def revoke(s: AsyncSession, which: str, *, at: datetime, actor: str = "cli") -> ApiToken:
    """Revoke the token with id ``which``, or the one in use named ``which``."""
    which = which.strip()
    if which.isdigit():
        row = await s.get(ApiToken, int(which))
    else:
        row = await s.scalar(
            select(ApiToken).where(ApiToken.name == which, ApiToken.revoked_at.is_(None))
        )
    if row is None:
        raise UserError(f"No token in use has the id or name “{which}”; api token list names them.")
    if row.revoked_at is None:
        row.revoked_at = at
        await audit.record(
            s,
            at=at,
            actor_member_id=None,
            actor=actor,
            action="api-token-revoke",
            object_kind="api-token",
            object_id=str(row.id),
            detail={"name": row.name},
        )
    return row


async def authenticate(s: AsyncSession, token: str, now: datetime) -> Caller:
    """The caller a presented token names; Unauthorized for an unknown or revoked one."""
    if not token.startswith(PREFIX) or len(token) > 200:
        raise Unauthorized("unknown_token", "This token is not one of this bot's API tokens.")
    presented = digest(token)
    row = await s.scalar(select(ApiToken).where(ApiToken.token_hash == presented))
    if row is None or not hmac.compare_digest(row.token_hash, presented):
        raise Unauthorized("unknown_token", "This token is not one of this bot's API tokens.")
    if row.revoked_at is not None:
        raise Unauthorized("revoked_token", "This token was revoked; ask for a new one.")
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        await s.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Caller(row.id, row.name, Role(row.role))
