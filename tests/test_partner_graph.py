"""The partnership map: the graph built from confirmed matches (wrong matches left out), who
has no connection yet, what stalled, the picture and its description, and the files staff
open in a spreadsheet or a graph tool."""

from __future__ import annotations

import csv
import io
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import networkx as nx  # type: ignore[import-untyped]

from bot.partners.draw import draw_png, figure, layout
from bot.partners.graph import (
    CSV_COLUMNS,
    Edge,
    EdgeState,
    Node,
    build,
    external_key,
    stalled,
    to_csv,
    to_graphml,
    unconnected,
)
from bot.partners.words import alt_text

OXFAM = external_key("Oxfam")
RED_CROSS = external_key("Croix-Rouge")
NODES = [
    Node("bml", "Médiathèque de Lyon", False),
    Node("spf", "Secours populaire français", False),
    Node("emmaus", "Emmaüs Connect", False),
    Node("cimade", "La Cimade", False),
    Node("mdj", 'Maison des jeunes, "Vaulx"', False),
    Node(OXFAM, "Oxfam", True),
    Node(RED_CROSS, "Croix-Rouge", True),
    Node(external_key("Wrong Match"), "Wrong Match", True),
]


def edge(a: str, b: str, state: str, on: date = date(2026, 3, 2), checkin: int | None = 7) -> Edge:
    kind = "partner" if b.startswith("ext:") else "connection"
    return Edge(a, b, kind, EdgeState(state), on, checkin)


EDGES = [
    edge("bml", "spf", "happened"),
    edge("bml", "emmaus", "proposed", checkin=None),
    edge("spf", "emmaus", "stalled"),
    edge("bml", OXFAM, "planned"),
    edge("emmaus", RED_CROSS, "confirmed"),
    edge("bml", "spf", "planned", on=date(2026, 4, 1)),  # the same pair again, later
    edge("cimade", "bml", "declined"),
    edge("spf", external_key("Wrong Match"), "declined"),
]


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_build_keeps_every_member_and_every_edge_but_declined_ones() -> None:
    graph = build(NODES, EDGES)
    assert set(graph) == {"bml", "spf", "emmaus", "cimade", "mdj", OXFAM, RED_CROSS}
    assert graph.number_of_edges() == 6
    assert not graph.has_edge("cimade", "bml")
    assert graph.number_of_edges("bml", "spf") == 2
    assert graph.nodes[OXFAM] == {"name": "Oxfam", "external": True}
    states = sorted(s for _, _, s in graph.edges(data="state"))
    assert states == ["confirmed", "happened", "planned", "planned", "proposed", "stalled"]
    [data] = graph.get_edge_data("bml", OXFAM).values()
    assert data == {
        "from": "bml",
        "to": OXFAM,
        "kind": "partner",
        "state": "planned",
        "date": "2026-03-02",
        "checkin": 7,
    }


def test_build_adds_nodes_for_unknown_keys_and_ignores_loops() -> None:
    graph = build([], [edge("bml", "ext:caritas", "happened"), edge("spf", "spf", "happened")])
    assert dict(graph.nodes(data="external")) == {"bml": False, "ext:caritas": True}
    assert graph.number_of_edges() == 1


def test_external_partners_written_alike_share_a_node() -> None:
    assert external_key("Croix-Rouge") == external_key("croix rouge") == "ext:croix rouge"
    assert external_key("Cáritas") == "ext:caritas"


def test_unconnected_lists_the_members_without_any_connection() -> None:
    graph = build(NODES, EDGES)
    members = ["bml", "spf", "cimade", "emmaus", "mdj", "newcomer", "cimade"]
    assert unconnected(graph, members) == ["cimade", "mdj", "newcomer"]
    assert unconnected(build(NODES, []), ["bml", "spf"]) == ["bml", "spf"]


def test_stalled_connections_are_each_pairs_latest_record() -> None:
    records = [
        edge("bml", "spf", "stalled", on=date(2026, 1, 5)),
        edge("spf", "bml", "happened", on=date(2026, 2, 5)),  # it moved on since
        edge("bml", "emmaus", "stalled", on=date(2026, 2, 1)),
        edge("cimade", "mdj", "planned", on=date(2026, 1, 10)),
        edge("cimade", "spf", "proposed", on=date(2026, 3, 1)),
        edge("mdj", "bml", "stalled", on=date(2026, 1, 1)),
        edge("bml", "mdj", "declined", on=date(2026, 1, 20)),  # a wrong match after all
    ]
    assert stalled(records) == [records[2]]
    late = stalled(records, today=date(2026, 3, 10))
    assert late == [records[3], records[2]]  # oldest first; "proposed" on 1 March is recent


def test_the_picture_is_a_png_of_a_sensible_size_and_always_the_same() -> None:
    graph = build(NODES, EDGES)
    png = draw_png(graph, title="Partnership map — March 2026")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = png_size(png)
    assert 800 <= width <= 2000 and 600 <= height <= 1600
    assert 10_000 < len(png) < 2_000_000
    assert draw_png(build(list(reversed(NODES)), list(reversed(EDGES))), title=
                    "Partnership map — March 2026") == png  # fmt: skip


def test_maps_can_be_drawn_in_worker_threads_at_once() -> None:
    graph = build(NODES, EDGES)
    with ThreadPoolExecutor(max_workers=3) as pool:
        pictures = list(pool.map(lambda _: draw_png(graph, title="Map", locale="es"), range(3)))
    assert pictures[0] == pictures[1] == pictures[2]


def test_the_layout_is_seeded_and_draws_partners_apart_and_unconnected_members_too() -> None:
    graph = build(NODES, EDGES)
    positions = layout(graph)
    assert positions == layout(build(list(reversed(NODES)), EDGES))
    assert set(positions) == set(graph)
    for key in (OXFAM, RED_CROSS):  # on the outer ring
        assert abs((positions[key][0] ** 2 + positions[key][1] ** 2) ** 0.5 - 1.45) < 1e-6
    for key in ("bml", "spf", "emmaus"):
        assert (positions[key][0] ** 2 + positions[key][1] ** 2) ** 0.5 <= 1.0 + 1e-6
    assert positions["cimade"][0] < -1.45 and positions["mdj"][0] < -1.45  # the left column


def test_the_picture_has_a_legend_in_the_readers_language_and_readable_labels() -> None:
    graph = build(NODES, EDGES)
    for locale, words in [
        ("en", {"Happened", "Proposed or planned", "Stalled", "External partner"}),
        ("fr_FR", {"Réalisée", "Proposée ou prévue", "Au point mort", "Partenaire extérieur"}),
        ("es", {"Realizada", "Propuesta o prevista", "Estancada", "Socio externo"}),
    ]:
        fig = figure(graph, title="Map", locale=locale)
        legend = {t.get_text() for t in fig.legends[0].get_texts()}
        assert words <= legend
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"Médiathèque de\nLyon", "Oxfam", "La Cimade", "Croix-Rouge"} <= labels
    assert all(len(line) <= 18 for text in labels for line in text.splitlines())


def test_an_empty_map_says_no_connections_yet() -> None:
    for locale, words in [("en", "No connections yet"), ("fr", "Pas encore de connexion")]:
        fig = figure(build(NODES[:3], []), title="Map", locale=locale)
        assert [t.get_text() for t in fig.axes[0].texts] == [words]
    png = draw_png(build([], []), title="Map")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(png) == (800, 400)


def test_alt_text_describes_the_map_in_one_paragraph() -> None:
    graph = build(NODES, EDGES)
    assert alt_text(graph) == (
        "7 organisations (2 external partners), 6 connections (1 happened, 2 planned, "
        "1 confirmed, 1 proposed, 1 stalled); most connected: Emmaüs Connect, "
        "Médiathèque de Lyon (3); "
        'no connections: La Cimade, Maison des jeunes, "Vaulx".'
    )
    assert alt_text(graph, "fr").startswith(
        "7 organisations (2 partenaires extérieurs), 6 connexions (1 réalisée, 2 prévues"
    )
    assert "\u00a0: Emmaüs Connect, Médiathèque de Lyon (3)\u202f; sans connexion\u00a0: La" in (
        alt_text(graph, "fr")
    )
    assert "más conexiones: Emmaüs Connect, Médiathèque de Lyon (3); sin conexiones: La" in (
        alt_text(graph, "es")
    )
    assert alt_text(build(NODES[:2], [])) == (
        "2 organisations, 0 connections; no connections: Médiathèque de Lyon, "
        "Secours populaire français."
    )


def test_csv_reads_back_with_its_header() -> None:
    text = to_csv(EDGES, NODES)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(rows) == 6  # declined ones left out
    assert [r["from_name"][:3] + r["date"][5:7] for r in rows] == [
        "Emm03",
        "Méd03",
        "Méd03",
        "Méd03",
        "Sec03",
        "Méd04",
    ]  # by date, then names
    assert rows[1] == {
        "from": "bml",
        "from_name": "Médiathèque de Lyon",
        "to": "emmaus",
        "to_name": "Emmaüs Connect",
        "kind": "connection",
        "state": "proposed",
        "date": "2026-03-02",
        "checkin": "",
    }
    assert rows[-1]["date"] == "2026-04-01" and rows[-1]["checkin"] == "7"
    tricky = to_csv([edge("mdj", "bml", "happened")], NODES)
    [row] = csv.DictReader(io.StringIO(tricky))
    assert row["from_name"] == 'Maison des jeunes, "Vaulx"'
    assert len(list(csv.DictReader(io.StringIO(to_csv(EDGES, NODES, declined=True))))) == 8
    assert text.encode("utf-8").decode("utf-8") == text


def test_graphml_reads_back_with_the_same_nodes_edges_and_attributes() -> None:
    graph = build(NODES, EDGES)
    back = nx.read_graphml(io.BytesIO(to_graphml(graph)))
    assert set(back) == set(graph)
    assert sorted(tuple(sorted(e)) for e in back.edges()) == sorted(
        tuple(sorted(e)) for e in graph.edges()
    )
    assert dict(back.nodes(data="external")) == dict(graph.nodes(data="external"))
    assert back.nodes[OXFAM]["name"] == "Oxfam"
    assert back.nodes["bml"]["name"] == "Médiathèque de Lyon"
    assert sorted(s for _, _, s in back.edges(data="state")) == sorted(
        s for _, _, s in graph.edges(data="state")
    )
    [data] = back.get_edge_data("bml", OXFAM).values()
    assert data["checkin"] == 7 and data["date"] == "2026-03-02" and data["from"] == "bml"
