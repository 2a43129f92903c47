"""A French-speaking member and staff member (issue 15, “Everything in the member's language”):
help, errors, acknowledgements, plural forms and a digest all in French, with French
typography, through the real harness of every adapter. Campaign names and measure labels come
from the alliance file in the reader's language."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta

from tests.conftest import HarnessFactory
from tests.harness import Harness, Received, with_accounts

START = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
NNBSP, NBSP = "\u202f", "\u00a0"
ALLIANCE = with_accounts(
    textwrap.dedent("""\
    alliance: {name: Alliance Lecture, default_timezone: Europe/Paris}
    organisations:
      - {slug: lyon-bm, name: Bibliothèque de Lyon, country: FR, timezone: Europe/Paris}
      - {slug: madrid, name: Biblioteca Madrid, country: ES, timezone: Europe/Madrid}
    members:
      - {id: lea, name: Léa, organisation: lyon-bm, reporting: true, locale: fr, <<lea>>}
      - {id: pablo, name: Pablo, organisation: madrid, reporting: true, locale: es, <<pablo>>}
      - {id: ines, name: Inès, organisation: lyon-bm, role: backbone, locale: fr, <<ines>>}
    measures:
      - key: sessions
        name: {en: Digital-skills sessions, fr: Ateliers numériques, es: Talleres digitales}
        unit: sessions
        target: 30
    campaigns:
      - key: weekly
        name: {en: Weekly check-in, fr: Point hebdomadaire, es: Seguimiento semanal}
        prompts: [name-a-barrier]
        audience: {organisations: [lyon-bm, madrid]}
        schedule: "0 9 * * *"
      - key: figures
        name: Figures
        measures: [sessions]
        audience: {reporting_only: true}
        schedule: "0 10 * * *"
""")
)
ENGLISH = (
    "digest for",
    "Response by organisation",
    "answered / delivered",
    "Shared measurement",
    "no figure",
    "the target is",
    "of a target",
    "Not answered yet",
    "Everyone has answered",
    "organisations",
    "people in",
    "have not answered",
    "(exercise)",
    "figures:",
    "Latest answers",
    "Starred answers",
    "No prompts",
    "No measures",
    "sum)",
    "Digital-skills",
    " of ",
    " the ",
    " and ",
)


def french_typography_faults(text: str) -> list[str]:
    """Sentence punctuation (; ! ? :) must follow a (narrow) no-break space in French."""
    text = re.sub(r":[a-z_]+:", "", text)
    faults = []
    for match in re.finditer(r"(.)([;!?:])(?=\s|$)", text):
        before, sign = match.groups()
        if before != (NBSP if sign == ":" else NNBSP):
            faults.append(f"{before!r}{sign} in {text!r}")
    return faults


def has_slash(h: Harness, word: str) -> bool:
    return type(h).__name__ != "SlackHarness" or word in ("checkin", "digest", "alliance-help")


def prompts_of(received: list[Received]) -> list[Received]:
    return [r for r in received if r.is_prompt]


async def next_question(h: Harness, member: str) -> Received:
    """The question asked after the member's last answer (one question at a time)."""
    before = {r.ref for r in prompts_of(h.inbox(member))}
    await h.run_until(h.clock.now() + timedelta(minutes=5), step=timedelta(minutes=1))
    [found] = [r for r in prompts_of(h.inbox(member)) if r.ref not in before]
    return found


async def test_a_french_member_hears_french(make_harness: HarnessFactory) -> None:
    h = await make_harness(START, ALLIANCE)
    [help_text] = await h.command("lea", "alliance-help")  # a slash command on Slack too
    assert "Ce que je sais faire" in help_text and "What I can do" not in help_text
    assert "vos réponses récentes" in help_text

    await h.run_until(START + timedelta(hours=4))  # both campaigns ran: one question at a time
    [words] = prompts_of(h.inbox("lea"))
    await h.reply("lea", words.ref, "Le manque de bénévoles")
    figure = await next_question(h, "lea")
    assert "sessions" in figure.text

    [wrong] = await h.reply("lea", figure.ref, "beaucoup")
    assert wrong.startswith("Il me faut un nombre pour celle-ci")
    assert "«\u00a0beaucoup\u00a0»" in wrong and "rien n'a été enregistré" in wrong
    assert not french_typography_faults(wrong)

    thanks = await h.reply("lea", figure.ref, "12")
    assert thanks[0].startswith(f"Merci{NNBSP}! Enregistré pour novembre 2026{NBSP}:"), thanks
    if not has_slash(h, "mydata"):
        return  # Slack has /checkin, /digest, /campaign and /alliance-help; the rest is typed
    [mine] = await h.command("lea", "mydata")
    assert mine.startswith(f"Vos 2 réponses, les plus récentes d'abord{NBSP}:"), mine

    [nothing] = await h.command("lea", "skip")
    assert nothing == f"Il n'y a rien à passer{NBSP}: aucune question ne vous attend."


async def test_a_spanish_member_gets_spanish_and_the_campaign_name(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness(START, ALLIANCE)
    await h.run_until(START + timedelta(hours=3))
    [question] = prompts_of(h.inbox("pablo"))
    [thanks, *_rest] = await h.reply("pablo", question.ref, "Falta de tiempo")
    assert thanks.startswith("¡Gracias! Registrado para"), thanks
    [waiting] = await h.command("pablo", "checkin", "")  # the next question, if already asked
    assert waiting.startswith("Ahora mismo no tiene ninguna pregunta pendiente. ¡Gracias") or (
        waiting.startswith("Esperando su respuesta:") and "Talleres digitales:" in waiting
    ), waiting


async def test_a_french_staff_members_digest_is_all_french(make_harness: HarnessFactory) -> None:
    h = await make_harness(START, ALLIANCE)
    await h.run_until(START + timedelta(hours=4))
    [words] = prompts_of(h.inbox("lea"))
    await h.reply("lea", words.ref, "Le manque de bénévoles")
    figure = await next_question(h, "lea")
    await h.reply("lea", figure.ref, "12")
    [digest, *_files] = await h.command("ines", "digest", "2026-12")
    assert "Synthèse Alliance Lecture pour décembre 2026 (2026-12)" in digest, digest
    assert "Ateliers numériques" in digest and "Mesure partagée" in digest
    assert "Pas encore de réponse" in digest
    left = [phrase for phrase in ENGLISH if phrase in digest]
    assert not left, f"English left in the French digest: {left}\n{digest}"
    assert not french_typography_faults(digest), french_typography_faults(digest)
