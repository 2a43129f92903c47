"""What ``alliance show`` prints: organisations, members and campaigns as rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.storage import models as m
from bot.storage.database import Database


@dataclass(frozen=True)
class Overview:
    alliance: str
    organisations: Sequence[tuple[str, ...]]
    members: Sequence[tuple[str, ...]]
    campaigns: Sequence[tuple[str, ...]]
    measures: Sequence[tuple[str, ...]]


def _audience(audience: dict[str, object]) -> str:
    parts = []
    for key in ("organisations", "roles", "members"):
        values = audience.get(key) or []
        if isinstance(values, list) and values:
            parts.append(f"{key}: {', '.join(map(str, values))}")
    if audience.get("reporting_only"):
        parts.append("reporting members")
    return "; ".join(parts) or "everyone"


async def overview(db: Database) -> Overview | None:
    async with db.session() as s:
        meta = await s.get(m.Alliance, 1)
        if meta is None:
            return None
        counts = dict(
            (
                await s.execute(
                    select(m.Member.organisation_id, func.count())
                    .where(m.Member.active)
                    .group_by(m.Member.organisation_id)
                )
            ).all()
        )
        orgs = (await s.scalars(select(m.Organisation).order_by(m.Organisation.slug))).all()
        org_slug = {o.id: o.slug for o in orgs}
        organisations = [
            (
                o.slug,
                o.name,
                o.kind,
                o.country,
                o.timezone,
                str(counts.get(o.id, 0)),
                "yes" if o.active else "no",
            )
            for o in orgs
        ]
        identities: dict[int, list[str]] = {}
        for member_id, platform in await s.execute(
            select(m.Identity.member_id, m.Identity.platform).order_by(m.Identity.platform)
        ):
            identities.setdefault(member_id, []).append(platform)
        members = [
            (
                mem.handle,
                mem.display_name,
                org_slug[mem.organisation_id],
                mem.role,
                mem.timezone,
                mem.locale,
                "yes" if mem.reporting else "backup" if mem.backup_reporter else "",
                ", ".join(identities.get(mem.id, [])),
                "yes" if mem.active else "no",
            )
            for mem in (
                await s.scalars(
                    select(m.Member).order_by(m.Member.organisation_id, m.Member.handle)
                )
            ).all()
        ]
        campaigns = [
            (
                c.key,
                c.name,
                c.schedule,
                c.timezone or "member's",
                _audience(c.audience),
                ("DM" if c.direct else "") + ("".join(f" #{k}" for k in c.channel_keys)),
                f"{len(c.prompt_ids)} ({c.prompt_order})",
                f"after {c.reminder_after_minutes // 60}h, x{c.reminder_max}"
                if c.reminder_after_minutes
                else "none",
                "inactive" if not c.active else "paused" if c.paused else "active",
            )
            for c in (await s.scalars(select(m.Campaign).order_by(m.Campaign.key))).all()
        ]
        target_counts = dict(
            (
                await s.execute(
                    select(m.MeasureTarget.measure_id, func.count()).group_by(
                        m.MeasureTarget.measure_id
                    )
                )
            ).all()
        )
        measures = [
            (
                ms.key,
                ms.name,
                ms.unit,
                ms.aggregation,
                ms.period,
                "" if ms.target is None else f"{ms.target:g}",
                str(target_counts.get(ms.id, 0)),
            )
            for ms in (await s.scalars(select(m.Measure).order_by(m.Measure.key))).all()
        ]
        return Overview(meta.name, organisations, members, campaigns, measures)
