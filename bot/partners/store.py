"""The partnership map in the database: connections read from answers, confirmed or
corrected by the member, followed up some weeks later.

Reading: an answer to a ``connection`` or ``partner`` exercise is matched against the
alliance's organisations and their aliases (:func:`bot.partners.match.find_mentions`);
names that match none become external partners. A partner exercise links the member's own
organisation to each name; a connection exercise that names two or more links those to each
other (two people who should meet), and one name alone to the member's organisation. The
edges start ``proposed``; the thank-you asks the member to confirm (``link 12 ok``), to say
none is right (``link 12 none``), or to type the right names (``link 12 Red Conecta, BML``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.prompts import PromptDef
from bot.domain.values import AnswerType
from bot.i18n import _, translate
from bot.partners.graph import EdgeState
from bot.partners.match import Known, Mention, find_mentions
from bot.ports import Action, Reply
from bot.storage import models as m
from bot.storage.insight import Partnership

PRACTICES = frozenset({"connection", "partner"})
MOST_NAMED = 4
"""A connection answer naming more organisations links only the first four to each other."""
LIST_SPLIT = re.compile(r"\s*(?:,|;|\+|&|\n|\band\b|\bet\b|\by\b)\s*", re.IGNORECASE)


def reads(prompt: PromptDef) -> bool:
    """Whether answers to ``prompt`` are read for the organisations they name."""
    return prompt.practice in PRACTICES and prompt.answer is AnswerType.TEXT


async def known(s: AsyncSession) -> list[Known]:
    rows = (
        await s.execute(
            select(m.Organisation.slug, m.Organisation.name, m.Organisation.aliases).where(
                m.Organisation.active
            )
        )
    ).all()
    return [Known(slug, name, tuple(aliases or ())) for slug, name, aliases in rows]


@dataclass(frozen=True)
class Pair:
    source: str
    """The slug of a member organisation."""
    target: Mention


def pairs(practice: str, own: str, mentions: Sequence[Mention]) -> list[Pair]:
    """The edges an answer's mentions make (see the module's docstring)."""
    named = list(mentions)[:MOST_NAMED]
    if practice == "connection" and len(named) >= 2:
        found = []
        for a, b in itertools.combinations(named, 2):
            if a.slug is None and b.slug is None:
                continue  # two outsiders: not the alliance's connection to map
            first, second = (a, b) if a.slug is not None else (b, a)
            assert first.slug is not None
            found.append(Pair(first.slug, second))
        return found
    return [Pair(own, mention) for mention in named]


async def _slugs(s: AsyncSession) -> dict[str, int]:
    return dict((await s.execute(select(m.Organisation.slug, m.Organisation.id))).all())


async def record(
    s: AsyncSession,
    now: datetime,
    *,
    checkin_id: int,
    member: m.Member,
    practice: str,
    found: Sequence[Pair],
    state: EdgeState = EdgeState.PROPOSED,
    member_typed: bool = False,
) -> int:
    """Store the edges read from one check-in (replacing what was read from it before)."""
    await s.execute(delete(Partnership).where(Partnership.checkin_id == checkin_id))
    ids = await _slugs(s)
    meta = await s.get(m.Alliance, 1)
    weeks = meta.follow_up_weeks if meta is not None else 4
    for pair in found:
        s.add(
            Partnership(
                source_org_id=ids[pair.source],
                target_org_id=ids.get(pair.target.slug or ""),
                target_name=pair.target.name[:200],
                kind=practice,
                state=state.value,
                how="member" if member_typed else pair.target.how,
                checkin_id=checkin_id,
                member_id=member.id,
                reported_at=now,
                follow_up_at=now + timedelta(weeks=weeks) if weeks else None,
                updated_at=now,
            )
        )
    return len(found)


def _names(found: Sequence[Pair], own: str, locale: str) -> str:
    shown = []
    for pair in found:
        target = pair.target.name
        if pair.target.slug is None:
            target = translate(_("{name} (not in the alliance)", name=target), locale)
        shown.append(target if pair.source == own else f"{pair.source} ↔ {target}")
    return ", ".join(dict.fromkeys(shown))


async def read_answer(
    s: AsyncSession,
    now: datetime,
    *,
    checkin_id: int,
    member: m.Member,
    own: str,
    prompt: PromptDef,
    text: str,
    orgs: Sequence[Known],
) -> Reply | None:
    """Read a stored (or edited) answer for the organisations it names; the question the
    member confirms with one tap, or None when it names none."""
    found = pairs(prompt.practice or "", own, find_mentions(text, orgs, own=own))
    await record(s, now, checkin_id=checkin_id, member=member, practice=prompt.practice or "",
                 found=found)  # fmt: skip
    if not found:
        return None
    locale = member.locale
    said = _(
        "I read this as a connection with: {names}. Is that right? If not, type “link {id} "
        "<the organisations' names>”.",
        names=_names(found, own, locale),
        id=checkin_id,
    )
    return Reply(
        translate(said, locale),
        actions=(
            Action(translate(_("Yes, that's right"), locale), f"link {checkin_id} ok"),
            Action(translate(_("No, none of these"), locale), f"link {checkin_id} none"),
        ),
    )


async def confirm(s: AsyncSession, checkin_id: int, now: datetime, right: bool) -> int:
    """The member's one tap: the edges read from the check-in are confirmed, or declined."""
    state = EdgeState.CONFIRMED if right else EdgeState.DECLINED
    result = await s.execute(
        update(Partnership)
        .where(
            Partnership.checkin_id == checkin_id,
            Partnership.state.in_([EdgeState.PROPOSED.value, EdgeState.CONFIRMED.value]),
        )
        .values(state=state.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def typed_names(text: str, orgs: Sequence[Known], own: str) -> list[Mention]:
    """The organisations a member typed to correct a reading: each part of a list is one
    name, matched like an answer's, else an external partner as typed."""
    found: list[Mention] = []
    for part in LIST_SPLIT.split(text):
        part = part.strip(" .!?\"'“”«»")
        if len(part) < 2:
            continue
        matched = [x for x in find_mentions(part, orgs, own=own) if x.slug is not None]
        if matched:
            found.append(matched[0])
        elif part.lower() not in {o.slug for o in orgs} | {own}:
            found.append(Mention(part, None, part[:200], "member", 100.0))
        else:  # a slug typed as it is
            org = next((o for o in orgs if o.slug == part.lower()), None)
            if org is not None and org.slug != own:
                found.append(Mention(part, org.slug, org.name, "member", 100.0))
    unique: dict[str, Mention] = {}
    for mention in found:
        unique.setdefault(mention.slug or mention.name.lower(), mention)
    return list(unique.values())
