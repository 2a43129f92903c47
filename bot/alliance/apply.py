"""Loading a validated alliance into the database: one transaction, safe to repeat.

Items in the file are added or updated; items the database has but the file no longer lists are
deactivated, never deleted, so their check-ins keep their history.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import audit
from bot.alliance.schema import MemberSpec
from bot.alliance.upsert import Computed, Sync
from bot.alliance.validate import ValidatedAlliance
from bot.storage import models as m
from bot.storage.database import Database
from bot.webhooks.endpoints import from_file


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


def source_digest(source: str | bytes) -> str:
    """The sha256 of the file's bytes (text is taken as UTF-8): ``Alliance.source_digest``."""
    return hashlib.sha256(source.encode() if isinstance(source, str) else source).hexdigest()


async def file_digest(path: Path) -> str:
    """``source_digest`` of a file, read in a worker thread a megabyte at a time."""

    def digest() -> str:
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()

    return await asyncio.to_thread(digest)


async def loaded_digest(db: Database) -> str | None:
    """The digest of the file loaded last, or None when none is."""
    async with db.session() as session:
        digest = await session.scalar(select(m.Alliance.source_digest).where(m.Alliance.id == 1))
    return digest or None


async def unchanged(db: Database, path: Path) -> str | None:
    """The digest of ``path`` when it is the file loaded last (nothing to load), else None;
    a file that cannot be read is left to validation to explain."""
    try:
        digest = await file_digest(path)
    except OSError:
        return None
    return digest if digest == await loaded_digest(db) else None


async def load_alliance(
    db: Database,
    alliance: ValidatedAlliance,
    source_text: str | bytes = "",
    *,
    actor: str = "cli",
    at: datetime | None = None,
) -> LoadReport:
    """Apply ``alliance`` in one transaction and say what changed; the audit log records
    the load, by ``actor`` (``cli``, ``startup``), at ``at`` (default: now)."""
    report = LoadReport()
    async with db.session() as session:
        loader = Sync(session, report)
        info = alliance.info
        digest = source_digest(source_text)
        meta = await session.get(m.Alliance, 1)
        meta_values = {
            "name": info.name,
            "default_locale": info.default_locale,
            "default_timezone": info.default_timezone,
            "retention": info.retention,
            "curve_after": info.turn_the_curve_after,
            "follow_up_weeks": info.follow_up_weeks,
        }
        if meta is None:
            session.add(m.Alliance(id=1, source_digest=digest, **meta_values))
            report.added.append(f"alliance “{info.name}”")
        elif _assign(meta, meta_values):
            report.changed.append(f"alliance “{info.name}”")
        if meta is not None and meta.source_digest != digest:
            meta.source_digest = digest

        await loader.rows(
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
        orgs = await loader.rows(
            m.Organisation,
            "slug",
            "organisation",
            {
                o.slug: {
                    "name": o.name,
                    "kind": o.kind.value,
                    "country": o.country,
                    "timezone": o.timezone,
                    "aliases": list(o.aliases),
                    "active": True,
                }
                for o in alliance.organisations
            },
        )
        by_id = {s.id: s for s in alliance.members}
        members = await loader.rows(
            m.Member,
            "handle",
            "member",
            Computed(
                by_id,
                lambda s: {
                    "display_name": s.name,
                    "organisation_id": orgs[s.organisation],
                    "role": s.role.value,
                    "timezone": alliance.member_timezone(s),
                    "locale": s.locale or info.default_locale,
                    "reporting": s.reporting,
                    "backup_reporter": s.backup_reporter,
                    "active": s.active,
                },
            ),
        )
        await _absences(session, report, alliance.members)
        await loader.children(
            m.Identity,
            "member",
            ("member_id", "platform", "external_id"),
            members,
            Computed(by_id, MemberSpec.identities),
        )
        channels = await loader.rows(
            m.Channel,
            "key",
            "channel",
            {
                c.key: {"name": c.name, "purpose": c.purpose, "active": True}
                for c in alliance.channels
            },
        )
        await loader.children(
            m.ChannelAddress,
            "channel",
            ("channel_id", "platform", "address"),
            channels,
            {c.key: c.addresses() for c in alliance.channels},
        )
        measures = await loader.rows(
            m.Measure,
            "key",
            "measure",
            {
                s.key: {
                    "name": s.name,
                    "names": s.names,
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
        await loader.children(
            m.MeasureTarget,
            "measure",
            ("measure_id", "organisation_id", "target"),
            measures,
            {
                s.key: {orgs[slug]: value for slug, value in s.targets.items()}
                for s in alliance.measures
            },
        )
        await loader.rows(
            m.Campaign,
            "key",
            "campaign",
            {c.key: _campaign_values(c, alliance) for c in alliance.campaigns},
        )
        await loader.rows(
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
        await from_file(session, report, alliance.webhooks, at=at or m.utcnow())
        await audit.record(
            session,
            at=at or m.utcnow(),
            actor_member_id=None,
            actor=actor,
            action="load",
            object_kind="alliance",
            object_id=digest[:12],
            detail={
                "added": len(report.added),
                "changed": len(report.changed),
                "deactivated": len(report.deactivated),
            },
        )
    return report


async def _absences(session: Any, report: LoadReport, members: list[MemberSpec]) -> None:
    """Set the absences the file names, as one set-based update of the members that differ.
    A member without ``away`` in the file keeps the absence they have (``away`` typed to the
    bot), so the file and the command never undo each other on a reload."""
    wanted = {
        s.id: {"away_from": s.away.start, "away_until": s.away.until} for s in members if s.away
    }
    if not wanted:
        return
    tally = LoadReport()
    await Sync(session, tally).rows(m.Member, "handle", "member", wanted, deactivate=False)
    known = {*report.added, *report.changed}
    report.changed.extend(entry for entry in tally.changed if entry not in known)


def _campaign_values(spec: Any, alliance: ValidatedAlliance) -> dict[str, Any]:
    prompt_ids = list(spec.prompts) + [alliance.measure_prompts[k] for k in spec.measures]
    return {
        "name": spec.name,
        "names": spec.names,
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
        "one_by_one": spec.ask == "one by one",
        "measure_period": spec.measure_period,
        "starts_on": spec.start,
        "ends_on": spec.end,
        "paused": spec.paused,
        "active": True,
    }
