"""What adapters may ask the core outside an event: who someone is, which channels are the
staff's, small saved state, whether an answer would be accepted, and a member's own page
(Slack's App Home). Adapters see these queries as ``bot.edge.Lookups``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.checkins import delivery_by_ref
from bot.domain.answers import parse_answer
from bot.domain.errors import UserError
from bot.domain.values import Role
from bot.home import HomeView, member_home
from bot.ports import Clock
from bot.scheduling.planner import Planner
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.prompts import load_prompts
from bot.storage.records import AdapterState

__all__ = ["Directory", "HomeView", "member_by_account"]


async def member_by_account(s: AsyncSession, platform: str, external_id: str) -> m.Member | None:
    return await s.scalar(
        select(m.Member)
        .join(m.Identity, m.Identity.member_id == m.Member.id)
        .where(
            m.Identity.platform == platform, m.Identity.external_id == external_id, m.Member.active
        )
    )


class Directory:
    def __init__(self, db: Database, clock: Clock, planner: Planner) -> None:
        self.db = db
        self.clock = clock
        self.planner = planner

    async def locale(self, platform: str, external_id: str) -> str:
        """The language the account's member reads (English for a stranger)."""
        async with self.db.session() as s:
            member = await member_by_account(s, platform, external_id)
            return member.locale if member is not None and member.locale else "en"

    async def display_name(self, platform: str, external_id: str) -> str | None:
        """Whose account this is, or None for a stranger (to greet or decline an invite)."""
        async with self.db.session() as s:
            member = await member_by_account(s, platform, external_id)
            return None if member is None else f"{member.display_name} ({member.role})"

    async def role(self, platform: str, external_id: str) -> Role | None:
        async with self.db.session() as s:
            member = await member_by_account(s, platform, external_id)
            return None if member is None else Role(member.role)

    async def first_admin(self, platform: str) -> str | None:
        async with self.db.session() as s:
            return await s.scalar(
                select(m.Identity.external_id)
                .join(m.Member, m.Member.id == m.Identity.member_id)
                .where(
                    m.Identity.platform == platform,
                    m.Member.active,
                    m.Member.role == Role.ADMIN.value,
                )
                .order_by(m.Member.id)
                .limit(1)
            )

    async def has_accounts_starting(self, platform: str, prefix: str) -> bool:
        """True when some member's account on ``platform`` starts with ``prefix`` (a team id)."""
        async with self.db.session() as s:
            found = await s.scalar(
                select(m.Identity.id)
                .where(
                    m.Identity.platform == platform,
                    m.Identity.external_id.startswith(prefix, autoescape=True),
                )
                .limit(1)
            )
            return found is not None

    async def staff_channels(self, platform: str) -> list[str]:
        """The addresses on ``platform`` of the alliance's active staff channels, as the
        alliance file writes them (a platform resolves its own aliases)."""
        async with self.db.session() as s:
            addresses = await s.scalars(
                select(m.ChannelAddress.address)
                .join(m.Channel, m.Channel.id == m.ChannelAddress.channel_id)
                .where(
                    m.ChannelAddress.platform == platform,
                    m.Channel.purpose == "staff",
                    m.Channel.active,
                )
            )
            return list(addresses.all())

    async def is_prompt(self, platform: str, message_ref: str) -> bool:
        """Whether ``message_ref`` names a prompt (or a reminder of one) sent on ``platform``."""
        async with self.db.session() as s:
            delivery = await delivery_by_ref(s, platform, message_ref)
            return delivery is not None and delivery.prompt_id is not None

    async def accounts_like(self, platform: str, text: str) -> list[tuple[str, str]]:
        """Active members' (account, name) on ``platform`` whose account or name holds
        ``text`` (any case): the one meant by a part of a name, or the candidates."""
        needle = text.strip().casefold()
        if not needle:
            return []
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(m.Identity.external_id, m.Member.display_name)
                    .join(m.Member, m.Member.id == m.Identity.member_id)
                    .where(m.Identity.platform == platform, m.Member.active)
                    .order_by(m.Identity.external_id)
                )
            ).all()
        return [
            (str(account), str(name))
            for account, name in rows
            if needle in str(account).casefold() or needle in str(name).casefold()
        ]

    async def check_answer(self, platform: str, message_ref: str, text: str) -> str | None:
        """The polite reason ``text`` would be refused for that prompt, or None if it is fine."""
        async with self.db.session() as s:
            delivery = await delivery_by_ref(s, platform, message_ref)
            if delivery is None or delivery.prompt_id is None:
                return "That prompt is no longer open for answers."
            prompt = (await load_prompts(s))[delivery.prompt_id]
            member = await s.get(m.Member, delivery.member_id) if delivery.member_id else None
            meta = await s.get(m.Alliance, 1)
            locale = member.locale if member else meta.default_locale if meta else "en"
        try:
            parse_answer(prompt, text, locale)
        except UserError as exc:
            return str(exc)
        return None

    async def get_state(self, platform: str, name: str) -> str | None:
        async with self.db.session() as s:
            return await s.scalar(
                select(AdapterState.value).where(
                    AdapterState.platform == platform, AdapterState.name == name
                )
            )

    async def set_state(self, platform: str, name: str, value: str) -> None:
        async with self.db.session() as s:
            row = await s.scalar(
                select(AdapterState).where(
                    AdapterState.platform == platform, AdapterState.name == name
                )
            )
            if row is None:
                s.add(
                    AdapterState(
                        platform=platform, name=name, value=value, updated_at=self.clock.now()
                    )
                )
            elif row.value != value:
                row.value = value
                row.updated_at = self.clock.now()

    async def home(self, platform: str, external_id: str) -> HomeView | None:
        """The member's own page, in their language; None for an account the alliance does
        not know."""
        async with self.db.session() as s:
            member = await member_by_account(s, platform, external_id)
            if member is None:
                return None
            return await member_home(s, member, self.clock.now(), self.planner)
