"""Loading a validated alliance into the database: one transaction, safe to repeat.

Items in the file are added or updated; items the database has but the file no longer lists are
deactivated, never deleted, so their check-ins keep their history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alliance.validate import ValidatedAlliance
from bot.storage import models as m
from bot.storage.database import Database

M = TypeVar("M", bound=m.Base)


@dataclass
class LoadReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.deactivated)

    def lines(self) -> list[str]:
        if self.unchanged:
            return ["Nothing to change: the database already matches the file."]
        out = []
        for title, entries in (
            ("Added", self.added),
            ("Changed", self.changed),
            ("Deactivated", self.deactivated),
        ):
            by_kind: dict[str, list[str]] = {}
            for entry in entries:
                kind, _, name = entry.partition(" ")
                by_kind.setdefault(kind, []).append(name)
            for kind, names in by_kind.items():
                shown = ": " + ", ".join(names) if len(names) <= 8 else ""
                out.append(f"{title} {len(names)} {kind}{'s' if len(names) > 1 else ''}{shown}")
        return out


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set only what differs, so an unchanged row issues no UPDATE."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


class _Loader:
    def __init__(self, session: AsyncSession, report: LoadReport) -> None:
        self.session = session
        self.report = report

    async def sync(
        self,
        model: type[M],
        key_attr: str,
        label: str,
        wanted: dict[str, dict[str, Any]],
        *,
        deactivate: bool = True,
    ) -> dict[str, M]:
        rows = {getattr(r, key_attr): r for r in (await self.session.scalars(select(model))).all()}
        for key, values in wanted.items():
            row = rows.get(key)
            if row is None:
                row = model(**{key_attr: key, **values})
                self.session.add(row)
                rows[key] = row
                self.report.added.append(f"{label} {key}")
            elif _assign(row, values):
                self.report.changed.append(f"{label} {key}")
        if deactivate:
            for key, row in rows.items():
                if key not in wanted and getattr(row, "active", False):
                    row.active = False  # type: ignore[attr-defined]
                    self.report.deactivated.append(f"{label} {key}")
        await self.session.flush()
        return rows


async def load_alliance(
    db: Database, alliance: ValidatedAlliance, source_text: str = ""
) -> LoadReport:
    """Apply ``alliance`` in one transaction and say what changed."""
    report = LoadReport()
    async with db.session() as session:
        loader = _Loader(session, report)
        info = alliance.info
        digest = hashlib.sha256(source_text.encode()).hexdigest()
        meta = await session.get(m.Alliance, 1)
        meta_values = {
            "name": info.name,
            "default_locale": info.default_locale,
            "default_timezone": info.default_timezone,
        }
        if meta is None:
            session.add(m.Alliance(id=1, source_digest=digest, **meta_values))
            report.added.append(f"alliance “{info.name}”")
        elif _assign(meta, meta_values):
            report.changed.append(f"alliance “{info.name}”")
        if meta is not None and meta.source_digest != digest:
            meta.source_digest = digest

        await loader.sync(
            m.Prompt,
            "id",
            "prompt",
            {
                pid: {
                    "kind": p.kind.value,
                    "answer_type": p.answer.value,
                    "source": alliance.prompt_sources.get(pid, "library"),
                    "definition": p.model_dump(mode="json", exclude_none=True),
                }
                for pid, p in alliance.prompts.items()
            },
            deactivate=False,
        )
        orgs = await loader.sync(
            m.Organisation,
            "slug",
            "organisation",
            {
                o.slug: {
                    "name": o.name,
                    "kind": o.kind.value,
                    "country": o.country,
                    "timezone": o.timezone,
                    "active": True,
                }
                for o in alliance.organisations
            },
        )
        members = await loader.sync(
            m.Member,
            "handle",
            "member",
            {
                s.id: {
                    "display_name": s.name,
                    "organisation_id": orgs[s.organisation].id,
                    "role": s.role.value,
                    "timezone": alliance.member_timezone(s),
                    "locale": s.locale or info.default_locale,
                    "reporting": s.reporting,
                    "active": s.active,
                }
                for s in alliance.members
            },
        )
        await _sync_children(
            session,
            report,
            m.Identity,
            "member",
            ("member_id", "platform", "external_id"),
            members,
            {s.id: s.identities() for s in alliance.members},
        )
        channels = await loader.sync(
            m.Channel,
            "key",
            "channel",
            {
                c.key: {"name": c.name, "purpose": c.purpose, "active": True}
                for c in alliance.channels
            },
        )
        await _sync_children(
            session,
            report,
            m.ChannelAddress,
            "channel",
            ("channel_id", "platform", "address"),
            channels,
            {c.key: c.addresses() for c in alliance.channels},
        )
        measures = await loader.sync(
            m.Measure,
            "key",
            "measure",
            {
                s.key: {
                    "name": s.name,
                    "unit": s.unit,
                    "aggregation": s.aggregation.value,
                    "period": s.period,
                    "target": s.target,
                    "prompt_id": alliance.measure_prompts[s.key],
                    "active": True,
                }
                for s in alliance.measures
            },
        )
        await _sync_children(
            session,
            report,
            m.MeasureTarget,
            "measure",
            ("measure_id", "organisation_id", "target"),
            measures,
            {
                s.key: {orgs[slug].id: value for slug, value in s.targets.items()}
                for s in alliance.measures
            },
        )
        await loader.sync(
            m.Campaign,
            "key",
            "campaign",
            {c.key: _campaign_values(c, alliance) for c in alliance.campaigns},
        )
        await loader.sync(
            m.DigestSchedule,
            "key",
            "digest",
            {
                d.key: {
                    "schedule": d.schedule,
                    "timezone": d.timezone,
                    "channel_keys": [t for t in d.to if t in channels],
                    "roles": [t for t in d.to if t not in channels],
                    "kind": d.kind,
                    "period": d.period,
                    "active": True,
                }
                for d in alliance.digests
            },
        )
    return report


def _campaign_values(spec: Any, alliance: ValidatedAlliance) -> dict[str, Any]:
    prompt_ids = list(spec.prompts) + [alliance.measure_prompts[k] for k in spec.measures]
    return {
        "name": spec.name,
        "description": spec.description,
        "prompt_ids": prompt_ids,
        "prompt_order": spec.order.value,
        "audience": json.loads(spec.audience.model_dump_json()),
        "channel_keys": [t for t in spec.deliver_to if t != "dm"],
        "direct": "dm" in spec.deliver_to,
        "schedule": spec.schedule,
        "timezone": spec.timezone,
        "reminder_after_minutes": spec.reminders.after if spec.reminders else None,
        "reminder_max": spec.reminders.max if spec.reminders else 0,
        "catch_up_minutes": spec.catch_up,
        "skip_holidays": spec.skip_holidays,
        "measure_period": spec.measure_period,
        "starts_on": spec.start,
        "ends_on": spec.end,
        "paused": spec.paused,
        "active": True,
    }


async def _sync_children(
    session: AsyncSession,
    report: LoadReport,
    model: type[M],
    label: str,
    names: tuple[str, str, str],
    parents: dict[str, Any],
    wanted: dict[str, dict[Any, Any]],
) -> None:
    """Make the child rows of each parent (identities, addresses, targets) match ``wanted``.

    ``names`` are the child's parent column, key column and value column. A child whose value
    changes is deleted and re-added, so unique values can move from one parent to another.
    """
    parent_col, key_col, value_col = names
    rows = (await session.scalars(select(model))).all()
    current = {(getattr(r, parent_col), getattr(r, key_col)): r for r in rows}
    by_id = {parent.id: key for key, parent in parents.items()}
    target = {
        (parents[k].id, ck): v for k, children in wanted.items() for ck, v in children.items()
    }
    changed: set[str] = set()
    for key, row in current.items():
        if target.get(key) != getattr(row, value_col):
            await session.delete(row)
            changed.add(by_id[key[0]])
    await session.flush()
    for key, value in target.items():
        existing = current.get(key)
        if existing is None or getattr(existing, value_col) != value:
            session.add(model(**{parent_col: key[0], key_col: key[1], value_col: value}))
            changed.add(by_id[key[0]])
    await session.flush()
    reported = {*report.added, *report.changed, *report.deactivated}
    for name in sorted(changed):
        entry = f"{label} {name}"
        if entry not in reported:
            report.changed.append(entry)
