"""A French-speaking member's week, on every platform through its real harness (issue 15):
two questions due together arrive one after the other; an answer, then “merci !” is not taken
as one; a typo gets a suggestion; the help shows the platform's own syntax; a choice answered by
its label; away for a week, then back; a French staff member's digest, all in French.

Each run writes its transcript (``transcript-<platform>.txt`` in the test's folder; ``-s``
prints it too): what the member typed and what the bot said.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.storage.records import CheckIn
from tests.conftest import HarnessFactory
from tests.harness import Harness, Received, with_accounts

SUNDAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)  # 09:05 in Lyon
NEXT_MONDAY = MONDAY + timedelta(days=7)
ALLIANCE = with_accounts("""\
alliance: {name: Alliance lyonnaise, default_timezone: Europe/Paris}
organisations:
  - {slug: lyon-lib, name: Médiathèque de Lyon, kind: library, country: FR, timezone: Europe/Paris}
  - {slug: appui, name: Équipe d'appui, kind: backbone, country: FR, timezone: Europe/Paris}
members:
  - {id: elodie, name: Élodie, organisation: lyon-lib, locale: fr, reporting: true, <<elodie>>}
  - {id: bastien, name: Bastien, organisation: appui, role: backbone, locale: fr, <<bastien>>}
measures:
  - key: digital_skills_sessions
    name: {en: Digital-skills sessions, fr: Ateliers numériques}
    unit: sessions
    target: 30
campaigns:
  - key: hebdo
    name: {en: Weekly check-in, fr: Point de la semaine}
    prompts: [name-a-barrier, backbone-international-contact]
    audience: {organisations: [lyon-lib]}
    schedule: "0 9 * * MON"
    reminders: {after: 3h, max: 1}
""")
HELP = {  # the word typed, and what the help's list shows for checkin
    "console": ("help", "\n  checkin "),
    "matrix": ("help", "\n  !checkin "),
    "slack": ("alliance-help", "\n  checkin "),  # in the DM; atop: /checkin in any channel
}
ENGLISH = re.compile(
    r"\b(the|and|of|Thank|Response|answered|Shared measurement|Highlights|target|week|"
    r"no figure|Not answered|Check-in|Did you mean|Reminder)\b"
)


class Transcript:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.lines: list[str] = []
        self.seen: dict[str, int] = {}

    def typed(self, who: str, text: str, said: list[str]) -> list[str]:
        self.lines.append(f"{who} › {text}")
        self.lines += [f"  bot › {line}" for reply in said for line in reply.splitlines()] or [
            "  (no reply)"
        ]
        return said

    def arrived(self, member: str) -> list[Received]:
        """What reached ``member`` since the last look (prompts, reminders)."""
        inbox = self.h.inbox(member)
        new = inbox[self.seen.get(member, 0) :]
        self.seen[member] = len(inbox)
        for message in new:
            options = f" [{' | '.join(message.choices)}]" if message.choices else ""
            shown = message.text.replace("\n", " ⏎ ")
            self.lines.append(f"  bot › [{message.kind}] {shown}{options}")
        return new

    def note(self, text: str) -> None:
        self.lines.append(f"— {text}")


async def checkins(h: Harness) -> list[CheckIn]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(CheckIn).order_by(CheckIn.id))).all())


async def test_a_french_members_week(make_harness: HarnessFactory, tmp_path: Path) -> None:
    h = await make_harness(SUNDAY, ALLIANCE)
    t = Transcript(h)
    platform = h.name.split("/")[0]
    t.note(f"Monday 30 November, 09:05 in Lyon ({platform})")
    await h.run_until(MONDAY)
    [first] = [r.text for r in t.arrived("elodie")]
    assert "obstacle" in first, first
    assert "Encore 1 question après celle-ci." in first, first  # one question at a time

    answer = "Nos agendas ne coïncident jamais."
    said = t.typed("Élodie", answer, await h.dm("elodie", answer))
    assert said and said[0].startswith("Merci\u202f!"), said
    await h.runtime.advance(h.clock.now())
    [second] = t.arrived("elodie")
    assert "organisme" in second.text and "Oui" in second.choices, second

    assert t.typed("Élodie", "merci !", await h.dm("elodie", "merci !")) == []
    assert len(await checkins(h)) == 1

    typo = t.typed("Élodie", "chekin", await h.dm("elodie", "chekin"))
    assert typo and "Vouliez-vous dire" in typo[0] and "checkin" in typo[0], typo

    word, syntax = HELP[platform]
    shown = t.typed("Élodie", word, await h.command("elodie", word))
    assert shown and syntax in shown[0] and not ENGLISH.search(shown[0]), shown

    picked = t.typed("Élodie", "oui", await h.dm("elodie", "oui"))
    assert picked and picked[0].startswith("Merci\u202f!") and "Oui" in picked[0], picked
    stored = await checkins(h)
    assert [c.answer_choice for c in stored] == [None, "yes"]

    typed = "away until 2026-12-11"  # next week, Monday to Friday
    away = t.typed("Élodie", typed, await h.dm("elodie", typed))
    assert away and "absent·e jusqu'au vendredi 11 décembre 2026" in away[0], away
    t.note("a week later: Monday 7 December, 09:05 in Lyon")
    await h.run_until(NEXT_MONDAY)
    assert t.arrived("elodie") == []  # away: no question, no reminder
    back = t.typed("Élodie", "back", await h.dm("elodie", "back"))
    assert back and "retour" in back[0].lower(), back

    asked = await h.command("bastien", "digest", "2026-W49")
    digest = t.typed("Bastien", "digest 2026-W49", asked)
    assert digest and "Médiathèque de Lyon" in digest[0], digest
    english = ENGLISH.findall(digest[0])
    assert english == [], (english, digest[0])

    text = "\n".join(t.lines)
    (tmp_path / f"transcript-{platform}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"\n{text}")
