"""The partnership map (issue 16, point 1), as members and staff meet it on the console: an
answer to a partner exercise that names organisations by their name, by an alias or
misspelled is read as connections, the member confirms or corrects the reading with one tap,
a follow-up four weeks later asks whether each happened, and staff get the map as a picture,
CSV and GraphML."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx  # type: ignore[import-untyped]
from sqlalchemy import select

from bot.partners.commands import map_data
from bot.partners.graph import build
from bot.storage.insight import Partnership
from tests.harness import Received
from tests.harnesses.console import ConsoleHarness
from tests.insight_alliance import alliance

SUNDAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
CAMPAIGNS = """\
    campaigns:
      - key: partners
        name: Partners
        prompts: [activities-combine-with-partner]
        audience:
          organisations:
            [stadtbibliothek-leipzig, bibliotheque-lyon-guillotiere, bibliotecas-sevilla,
             red-conecta-mx]
        schedule: "0 9 30 11 *"
        timezone: UTC
    """
ANSWERS = {
    # by a misspelled name (no accent) and by an alias
    "anna": "We could run coding clubs with the Bibliotheque municipale de Lyon and the "
    "Red Conecta folks.",
    # by an alias, and a partner outside the alliance
    "claire": "Un atelier commun avec la Stabi Leipzig et Emmaüs Connect, pour les seniors.",
    # misspelled
    "lucia": "Podríamos hacer talleres con Conexions Solidaire sobre trámites en línea.",
    # nothing to read
    "mariana": "Todavía no lo sabemos.",
}


def prompt_of(h: ConsoleHarness, member: str, text: str) -> Received:
    return next(r for r in h.inbox(member) if r.is_prompt and text in r.text)


async def edges(h: ConsoleHarness) -> set[tuple[str, str, str]]:
    async with h.runtime.db.session() as s:
        nodes, found, _ = await map_data(s, None)
    names = {n.key: n.name for n in nodes}
    return {(e.source, names.get(e.target, e.target), e.state.value) for e in found}


async def test_connections_are_read_confirmed_followed_up_and_mapped(
    tmp_path: Path, db_url: str
) -> None:
    h = ConsoleHarness(tmp_path, db_url, SUNDAY, alliance(CAMPAIGNS))
    await h.runtime.start()
    try:
        await h.run_until(MONDAY)
        said: dict[str, list[str]] = {}
        for member, text in ANSWERS.items():
            prompt = prompt_of(h, member, "")
            said[member] = await h.reply(member, prompt.ref, text)
        # The reading is said back, in the member's language, with a one-tap confirmation.
        anna = "\n".join(said["anna"])
        assert "I read this as a connection with: Bibliothèque municipale de Lyon" in anna
        assert "Red Conecta México A.C." in anna
        assert "(Yes, that's right: link" in anna and "(No, none of these: link" in anna
        assert "Emmaüs Connect (hors de l'alliance)" in "\n".join(said["claire"])
        assert "Connexions Solidaires" in "\n".join(said["lucia"])
        assert not any("link" in line for line in said["mariana"])
        assert await edges(h) == {
            ("stadtbibliothek-leipzig", "Bibliothèque municipale de Lyon – La Guillotière",
             "proposed"),
            ("stadtbibliothek-leipzig", "Red Conecta México A.C.", "proposed"),
            ("bibliotheque-lyon-guillotiere", "Stadtbibliothek Leipzig", "proposed"),
            ("bibliotheque-lyon-guillotiere", "Emmaüs Connect", "proposed"),
            ("bibliotecas-sevilla", "Connexions Solidaires", "proposed"),
        }  # fmt: skip
        # Anna confirms with one tap; Lucía corrects the reading; Claire says none is right.
        checkin = {m: _id(lines) for m, lines in said.items() if m != "mariana"}
        assert "on the map" in (await h.command("anna", "link", f"{checkin['anna']} ok"))[0]
        fixed = await h.command("lucia", "link", f"{checkin['lucia']} Red Conecta, Cáritas")
        assert "Red Conecta México A.C., Cáritas" in fixed[0]
        await h.command("claire", "link", f"{checkin['claire']} none")
        refused = await h.command("anna", "link", f"{checkin['lucia']} ok")
        assert "You have no check-in" in refused[0]
        found = await edges(h)
        assert ("stadtbibliothek-leipzig", "Red Conecta México A.C.", "confirmed") in found
        assert ("bibliotecas-sevilla", "Red Conecta México A.C.", "confirmed") in found
        assert ("bibliotecas-sevilla", "Cáritas", "confirmed") in found
        assert ("bibliotheque-lyon-guillotiere", "Emmaüs Connect", "declined") in found
        assert not any(t == "Connexions Solidaires" for _, t, _ in found)

        # Four weeks later, a follow-up per connection (not the declined ones).
        await h.run_until(MONDAY + timedelta(weeks=4, hours=2), timedelta(hours=6))
        follow = [r for r in h.inbox("anna") if r.is_prompt and "Did it happen" in r.text]
        assert len(follow) == 1  # one question at a time: the second waits for the first
        assert "Connection: Stadtbibliothek Leipzig and" in follow[0].text
        assert [r for r in h.inbox("claire") if "A-t-elle eu lieu" in r.text] == []
        await h.pick("anna", follow[0].ref, "1")  # yes, we worked together
        await h.runtime.settle()
        second = [r for r in h.inbox("anna") if r.is_prompt and "Did it happen" in r.text]
        assert len(second) == 2
        await h.pick("anna", second[1].ref, "3")  # it stalled
        states = {(t, s) for src, t, s in await edges(h) if src == "stadtbibliothek-leipzig"}
        first_target = follow[0].text.split("Connection: Stadtbibliothek Leipzig and ")[1]
        assert (first_target.splitlines()[0], "happened") in states
        assert len({s for _, s in states} & {"happened", "stalled"}) == 2

        # Staff get the map: a picture, the organisations nobody connects with, exports.
        shown = await h.command("tom", "partners")
        assert "No connection yet:" in shown[0]
        assert "Harlem Digital Navigators" in shown[0]
        picture = tmp_path / "files" / "partnerships-2026-Q4.png"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        await h.command("tom", "partners", "export")
        graph = nx.read_graphml(tmp_path / "files" / "partnerships-2026-Q4.graphml")
        async with h.runtime.db.session() as s:
            nodes, found_edges, _ = await map_data(s, None)
        expected = build(nodes, found_edges)
        assert set(graph.nodes) == set(expected.nodes)
        assert graph.number_of_edges() == expected.number_of_edges() == 4
        assert graph.nodes["ext:caritas"]["external"] in (True, "True", "true")
        rows = list(csv.DictReader(io.StringIO(
            (tmp_path / "files" / "partnerships-2026-Q4.csv").read_text("utf-8-sig"))))  # fmt: skip
        assert {r["state"] for r in rows} >= {"happened", "stalled", "confirmed"}
        assert "declined" not in {r["state"] for r in rows}
        # A member may not see the map.
        assert "backbone team" in (await h.command("anna", "partners"))[0]
    finally:
        await h.runtime.stop()


def _id(lines: list[str]) -> int:
    text = "\n".join(lines)
    return int(text.split("link ")[1].split()[0])


async def test_deleting_the_answer_takes_its_connections_off_the_map(
    tmp_path: Path, sqlite_url: str
) -> None:
    h = ConsoleHarness(tmp_path, sqlite_url, SUNDAY, alliance(CAMPAIGNS))
    await h.runtime.start()
    try:
        await h.run_until(MONDAY)
        said = await h.reply("anna", prompt_of(h, "anna", "").ref, ANSWERS["anna"])
        await h.command("anna", "mydata", f"delete {_id(said)}")
        async with h.runtime.db.session() as s:
            assert (await s.scalars(select(Partnership))).all() == []
    finally:
        await h.runtime.stop()
