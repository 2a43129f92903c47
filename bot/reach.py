"""Where the bot is installed on each platform, and which accounts it can no longer reach.

An adapter whose platform is installed space by space (one installation per workspace) keeps
its installations here through :class:`Installations`: the space, the prefix of the accounts it
reaches, and the adapter's own sealed credentials, which the core never reads. When a space
removes the bot, the adapter marks it gone with a reason; the row stays. The core reads the
marks: the digest names organisations cut off (:func:`unreachable`), and staff ask which
organisations have installed (:func:`reach_report`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.model import Unreachable
from bot.domain.errors import UserError
from bot.domain.values import Role
from bot.i18n import Text, _, ngettext, translate
from bot.ports import Clock, Reply
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import AdapterState, Installation

if TYPE_CHECKING:
    from bot.commands import CommandContext

INSTALL_URL = "install_url"
"""The adapter_state name under which an adapter keeps its install link (``?organisation=``
is added per organisation)."""


@dataclass(frozen=True)
class InstallRecord:
    platform: str
    space: str
    account_prefix: str
    name: str
    organisation: str | None
    credentials: str | None
    installed_at: datetime
    updated_at: datetime
    gone_at: datetime | None
    gone_reason: str | None

    @property
    def live(self) -> bool:
        return self.gone_at is None


def _record(row: Installation) -> InstallRecord:
    return InstallRecord(
        row.platform,
        row.space,
        row.account_prefix,
        row.name,
        row.organisation,
        row.credentials,
        row.installed_at,
        row.updated_at,
        row.gone_at,
        row.gone_reason,
    )


class Installations:
    """The installations table, for adapters: save, find, mark gone, reseal."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def save(
        self,
        platform: str,
        space: str,
        *,
        account_prefix: str,
        credentials: str | None,
        name: str = "",
        organisation: str | None = None,
    ) -> None:
        """Store (or renew) the installation; an installation that was gone is live again."""
        now = self.clock.now()
        async with self.db.session() as s:
            row = await s.scalar(
                select(Installation).where(
                    Installation.platform == platform, Installation.space == space
                )
            )
            if row is None:
                row = Installation(platform=platform, space=space, installed_at=now)
                s.add(row)
            elif row.gone_at is not None:
                row.installed_at = now
            row.account_prefix = account_prefix
            row.credentials = credentials
            row.name = name or row.name or ""
            row.organisation = organisation or row.organisation
            row.updated_at = now
            row.gone_at = None
            row.gone_reason = None

    async def find(self, platform: str, space: str) -> InstallRecord | None:
        async with self.db.session() as s:
            row = await s.scalar(
                select(Installation).where(
                    Installation.platform == platform, Installation.space == space
                )
            )
            return None if row is None else _record(row)

    async def mark_gone(self, platform: str, space: str, reason: str) -> bool:
        """The space removed the bot: its credentials are dropped, the row and the data of its
        members stay. False when there was no live installation to mark."""
        now = self.clock.now()
        async with self.db.session() as s:
            row = await s.scalar(
                select(Installation).where(
                    Installation.platform == platform, Installation.space == space
                )
            )
            if row is None or row.gone_at is not None:
                return False
            row.gone_at, row.gone_reason = now, reason[:500]
            row.credentials = None
            row.updated_at = now
            return True

    async def all(self, platform: str | None = None) -> list[InstallRecord]:
        where = [Installation.platform == platform] if platform else []
        async with self.db.session() as s:
            rows = await s.scalars(
                select(Installation).where(*where).order_by(Installation.platform, Installation.id)
            )
            return [_record(row) for row in rows]

    async def reseal(self, platform: str, reseal: Callable[[str], str]) -> int:
        """Replace every sealed value of ``platform`` by ``reseal(value)``, in one transaction
        (a key rotation); how many were resealed."""
        count = 0
        async with self.db.session() as s:
            rows = await s.scalars(
                select(Installation).where(
                    Installation.platform == platform, Installation.credentials.is_not(None)
                )
            )
            for row in rows:
                assert row.credentials is not None
                row.credentials = reseal(row.credentials)
                count += 1
        return count


_MATCH = and_(
    Installation.platform == m.Identity.platform,
    m.Identity.external_id.startswith(Installation.account_prefix),
)
"""An account and the installation that reaches it."""


async def _members(s: AsyncSession, org_filter: list[ColumnElement[bool]]) -> dict[str, int]:
    rows = await s.execute(
        select(m.Organisation.slug, func.count(m.Member.id))
        .join(m.Member, m.Member.organisation_id == m.Organisation.id)
        .where(m.Member.active, m.Organisation.active, *org_filter)
        .group_by(m.Organisation.slug)
    )
    return {slug: int(count) for slug, count in rows.all()}


async def unreachable(s: AsyncSession, organisation: str | None = None) -> tuple[Unreachable, ...]:
    """Organisations with members whose accounts lie in a space that removed the bot."""
    org_filter = [m.Organisation.slug == organisation] if organisation else []
    rows = (
        await s.execute(
            select(
                m.Organisation.slug,
                m.Organisation.name,
                Installation.platform,
                func.count(func.distinct(m.Member.id)),
                func.min(Installation.gone_at),
                func.max(Installation.gone_reason),
            )
            .select_from(m.Identity)
            .join(m.Member, m.Member.id == m.Identity.member_id)
            .join(m.Organisation, m.Organisation.id == m.Member.organisation_id)
            .join(Installation, _MATCH)
            .where(
                Installation.gone_at.is_not(None),
                m.Member.active,
                m.Organisation.active,
                *org_filter,
            )
            .group_by(m.Organisation.slug, m.Organisation.name, Installation.platform)
            .order_by(m.Organisation.name)
        )
    ).all()
    if not rows:
        return ()
    members = await _members(s, org_filter)
    return tuple(
        Unreachable(name, platform, members.get(slug, count), int(count), since, reason or "")
        for slug, name, platform, count, since, reason in rows
        if since is not None
    )


@dataclass(frozen=True)
class OrgReach:
    """One organisation's members on one platform, by what became of their space."""

    slug: str
    name: str
    platform: str
    accounts: int
    """Active members with an account on the platform."""
    live: int
    """...of whom an installation reaches."""
    gone: int
    """...whose space removed the bot."""
    since: datetime | None
    """The earliest of their spaces' installation, or of its removal when one is gone."""
    reason: str = ""

    @property
    def installed(self) -> bool:
        return self.accounts > 0 and self.live == self.accounts


@dataclass
class _Tally:
    name: str
    accounts: set[int] = field(default_factory=set)
    live: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)
    stamps: list[tuple[bool, datetime]] = field(default_factory=list)
    """(still live, when installed or removed): the removals sort first."""
    reason: str = ""

    def add(self, member: int, installed: datetime | None, gone: datetime | None, why: str) -> None:
        self.accounts.add(member)
        if gone is not None:
            self.gone.add(member)
            self.reason = why
            self.stamps.append((False, gone))
        elif installed is not None:
            self.live.add(member)
            self.stamps.append((True, installed))

    def reach(self, slug: str, platform: str) -> OrgReach:
        since = min(self.stamps)[1] if self.stamps else None
        gone = len(self.gone)
        return OrgReach(
            slug, self.name, platform, len(self.accounts), len(self.live), gone, since, self.reason
        )


async def reach_report(s: AsyncSession) -> list[OrgReach]:
    """For every platform with installations, each organisation's members on it."""
    platforms = set((await s.scalars(select(Installation.platform).distinct())).all())
    linked = select(AdapterState.platform).where(AdapterState.name == INSTALL_URL)
    platforms |= set((await s.scalars(linked)).all())  # installable, maybe nowhere yet
    report: list[OrgReach] = []
    for platform in sorted(platforms):
        rows = await s.execute(
            select(
                m.Organisation.slug,
                m.Organisation.name,
                m.Member.id,
                Installation.installed_at,
                Installation.gone_at,
                Installation.gone_reason,
            )
            .select_from(m.Identity)
            .join(m.Member, m.Member.id == m.Identity.member_id)
            .join(m.Organisation, m.Organisation.id == m.Member.organisation_id)
            .outerjoin(Installation, _MATCH)
            .where(m.Identity.platform == platform, m.Member.active, m.Organisation.active)
            .order_by(m.Organisation.name, m.Member.id)
        )
        tallies: dict[str, _Tally] = {}
        for slug, name, member, installed, gone, why in rows.all():
            tallies.setdefault(slug, _Tally(name)).add(member, installed, gone, why or "")
        report += [tally.reach(slug, platform) for slug, tally in tallies.items()]
    return report


async def install_link(s: AsyncSession, platform: str, organisation: str) -> str | None:
    """The link an organisation's admin opens to install the bot, if the adapter gave one."""
    base = await s.scalar(
        select(AdapterState.value).where(
            AdapterState.platform == platform, AdapterState.name == INSTALL_URL
        )
    )
    return f"{base}?organisation={organisation}" if base else None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def reach_line(org: OrgReach, link: str | None = None) -> Text:
    """One organisation in the ``installs`` listing."""
    since, name = _when(org.since), org.name
    if org.installed:
        return ngettext(
            "{name}: installed since {since} (its one member)",
            "{name}: installed since {since} (all {n} members)",
            org.accounts,
            name=name,
            since=since,
        )
    if org.gone:
        return ngettext(
            "{name}: UNREACHABLE since {since}, {gone} of {n} member ({reason})",
            "{name}: UNREACHABLE since {since}, {gone} of {n} members ({reason})",
            org.accounts,
            name=name,
            since=since,
            gone=org.gone,
            reason=org.reason,
        )
    state = (
        ngettext(
            "partly installed ({live} of {n} member)",
            "partly installed ({live} of {n} members)",
            org.accounts,
            live=org.live,
        )
        if org.live
        else _("not installed")
    )
    if link:
        return _("{name}: {state}; install link: {link}", name=name, state=state, link=link)
    return _("{name}: {state}", name=name, state=state)


async def installs_text(s: AsyncSession, locale: str = "en") -> str:
    """Which organisations have installed the bot, platform by platform."""
    report = await reach_report(s)
    if not report:
        only_one = _(
            "No platform here is installed organisation by organisation (a single workspace "
            "token reaches everyone it can)."
        )
        return translate(only_one, locale)
    lines: list[str] = []
    for org in report:
        link = None if org.installed else await install_link(s, org.platform, org.slug)
        lines.append(f"  [{org.platform}] {translate(reach_line(org, link), locale)}")
    installed = sum(1 for org in report if org.installed)
    head = ngettext(
        "Installations: {installed} of {n} organisation installed",
        "Installations: {installed} of {n} organisations installed",
        len(report),
        installed=installed,
    )
    return translate(head, locale) + "\n" + "\n".join(lines)


async def installs_command(ctx: CommandContext, args: str) -> list[Reply]:
    """``installs``: backbone staff and admins see which organisations have installed."""
    if not Role(ctx.member.role).is_staff:
        raise UserError(_("The list of installations is for the backbone team and admins."))
    return [Reply(await installs_text(ctx.session, ctx.member.locale))]
