"""Charts worth showing (issue 17): a heat map of response by organisation and week whose cells
are the digest's rates, measures against their target trajectory (for one organisation on
demand), named after what they show, "No data yet" on a fresh alliance, and a text alternative
that reaches Slack's ``alt_txt`` and Matrix's ``body``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.translate import parse_line
from adapters.matrix.media import file_content
from bot.digest.charts import measure_words
from bot.digest.compute import compute_digest
from bot.digest.heatmap import HeatData, HeatWords, heatmap_figure, weekly_response
from bot.domain.periods import Period
from bot.ports import Attachment
from tests.fakeslack_parts import dm_of
from tests.harness import with_accounts
from tests.harnesses.console import ConsoleHarness
from tests.harnesses.matrix import HarnessMaker
from tests.harnesses.slack import SlackHarness
from tests.test_digests import ALLIANCE
from tests.test_slack_adapter import h

__all__ = ["h"]  # the Slack harness fixture

WEEK = Period.parse_key("2026-W49")
STEP = timedelta(hours=3)


async def files(h: ConsoleHarness, member: str, command: str) -> tuple[Attachment, ...]:
    event = parse_line(f"/{command}", member, h.clock.now())
    replies = await h.runtime.handle(event)  # type: ignore[arg-type]
    return replies[0].attachments


async def three_weeks(h: ConsoleHarness) -> None:
    """Weeks 47 to 49 of the test alliance: Org A answers some, Org B and C fewer."""

    def latest(member: str, words: str) -> str:
        return [r.ref for r in h.inbox(member) if words in r.text][-1]

    await h.run_until(datetime(2026, 11, 16, 12, tzinfo=UTC), STEP)  # week 47
    await h.reply("a1", latest("a1", "barrier"), "Opening hours.")
    await h.reply("b1", latest("b1", "barrier"), "No shared calendar.")
    await h.run_until(datetime(2026, 11, 23, 12, tzinfo=UTC), STEP)  # week 48
    await h.reply("a1", latest("a1", "barrier"), "Still the opening hours.")
    await h.reply("a2", latest("a2", "barrier"), "Funding.")
    await h.run_until(datetime(2026, 12, 1, 12, tzinfo=UTC), STEP)  # week 49
    await h.reply("a1", latest("a1", "people"), "18")
    await h.reply("d1", latest("d1", "people"), "9")


async def test_the_heat_map_shows_the_digests_rates_and_files_say_their_filter(
    tmp_path: Path, db_url: str
) -> None:
    start = datetime(2026, 11, 15, tzinfo=UTC)
    async with ConsoleHarness.started(tmp_path, db_url, start, ALLIANCE) as h:
        await three_weeks(h)
        async with h.runtime.db.session() as s:
            data = await weekly_response(s, WEEK)
            digests = {w: await compute_digest(s, Period.parse_key(w)) for w in data.weeks}
        _figure, matrix = heatmap_figure(data, HeatWords("Response"))
        assert data.weeks == ("2026-W47", "2026-W48", "2026-W49")  # from the first prompts
        assert data.organisations == ("Org A", "Org B", "Org C")
        for column, week in enumerate(data.weeks):
            rates = {r.name: r.rate for r in digests[week].responses}
            drawn = {name: matrix[row][column] for row, name in enumerate(data.organisations)}
            assert drawn == {name: rates.get(name) for name in data.organisations}, week
        assert matrix[0][:2] == [0.5, 1.0]  # Org A: Ann of Ann and Abe, then both

        heat, measures = await files(h, "staff", "digest chart 2026-W49")
        assert (heat.filename, measures.filename) == (
            "response-heatmap-2026-W49.png",
            "measures-2026-W49.png",
        )
        assert heat.content.startswith(b"\x89PNG") and measures.content.startswith(b"\x89PNG")
        assert "Org A: 50%, 100%" in heat.alt and "2026-W47 to 2026-W49" in heat.alt
        assert "Running total since 2026-11: 27, against a target trajectory of 30" in (
            measures.alt
        )
        one = await files(h, "staff", "digest chart 2026-W49 org a")
        assert [f.filename for f in one] == [
            "response-heatmap-2026-W49-a.png",
            "measures-2026-W49-a.png",
        ]
        assert "Org B" not in one[0].alt and "Org A" in one[1].alt
        [filtered] = await files(h, "staff", "digest 2026-W49 org a")  # the digest's own filter
        assert filtered.filename == "measures-2026-W49-a.png"


async def test_charts_are_kept_once_per_language(tmp_path: Path, sqlite_url: str) -> None:
    alliance = ALLIANCE.replace(
        "{id: staff, name: Staff, organisation: a, role: backbone}",
        "{id: staff, name: Staff, organisation: a, role: backbone}\n"
        "  - {id: fr, name: Inès, organisation: a, role: backbone, locale: fr}",
    )
    start = datetime(2026, 11, 15, tzinfo=UTC)
    async with ConsoleHarness.started(tmp_path, sqlite_url, start, alliance) as h:
        await three_weeks(h)
        charts = h.runtime.charts
        english = await files(h, "staff", "digest chart 2026-W49")
        drawn = charts.drawn
        assert drawn == 2
        again = await files(h, "staff", "digest chart 2026-W49")
        assert charts.drawn == drawn and again[0].content == english[0].content
        french = await files(h, "fr", "digest chart 2026-W49")
        assert charts.drawn == drawn + 2 and french[0].content != english[0].content
        assert french[0].filename == english[0].filename
        assert french[1].alt.startswith("Rates Alliance") and french[1].alt != english[1].alt


async def test_a_fresh_alliance_gets_no_data_yet_rather_than_empty_axes(
    tmp_path: Path, sqlite_url: str
) -> None:
    start = datetime(2026, 11, 15, tzinfo=UTC)
    async with ConsoleHarness.started(tmp_path, sqlite_url, start, ALLIANCE) as h:
        heat, measures = await files(h, "staff", "digest chart")
        assert heat.content.startswith(b"\x89PNG") and measures.content.startswith(b"\x89PNG")
        assert heat.alt.endswith("No data yet.") and "People reached: no data yet." in measures.alt
        async with h.runtime.db.session() as s:
            data = await weekly_response(s, WEEK)
        assert data.empty
        figure, matrix = heatmap_figure(data, HeatWords("Response"))
        assert matrix == []
        [axes] = figure.axes
        assert [t.get_text() for t in axes.texts] == ["No data yet"] and not axes.axison

    empty = HeatData(("2026-W49",), (), ())
    assert heatmap_figure(empty, HeatWords("R", no_data="Pas encore de données"))[1] == []
    assert measure_words("fr").no_data != "No data yet"  # translated (bot/locales)


async def test_slack_uploads_carry_the_charts_text_alternative(h: SlackHarness) -> None:
    await h.command("bo", "digest", "chart")
    uploads = h.fake.method_calls("files.getUploadURLExternal")
    alts = {str(c.body.get("filename")): str(c.body.get("alt_txt", "")) for c in uploads}
    [heat] = [alt for name, alt in alts.items() if name.startswith("response-heatmap-")]
    [measures] = [alt for name, alt in alts.items() if name.startswith("measures-")]
    assert heat.startswith("Slack Test: response rate by organisation and week, to 2026-W48.")
    assert heat.endswith("No data yet.") and len(heat) <= 1000
    assert measures.startswith("Slack Test: measures to 2026-W48.")
    assert "Digital-skills sessions: no data yet." in measures
    await h.command("bo", "digest", "chart")  # shown again from Slack's copy: same words
    shown = [
        block
        for message in h.fake.channel(dm_of("U0BO"))
        for block in message.blocks
        if block.get("type") == "image"
    ]
    assert {b["alt_text"] for b in shown} == {heat, measures}


def test_a_matrix_image_says_in_its_body_what_it_shows() -> None:
    content = file_content(
        filename="response-heatmap-2026-W49.png",
        mime_type="image/png",
        size=10,
        caption="Response by week",
        url="mxc://localhost/x",
        alt="Org A: 50%, 100%.",
    )
    assert content["body"] == "Response by week\n\nOrg A: 50%, 100%."
    assert content["filename"] != content["body"]  # so clients read the body as its words
    assert "Org A: 50%, 100%." in content["formatted_body"]


async def test_matrix_members_get_the_charts_words_with_the_images(
    make_matrix: HarnessMaker,
) -> None:
    alliance = with_accounts(ALLIANCE_MATRIX)
    h = await make_matrix(datetime(2026, 11, 23, 5, tzinfo=UTC), alliance)
    bodies = await h.command("bo", "digest", "chart")
    [heat] = [b for b in bodies if "response rate by organisation and week" in b]
    assert "No data yet" in heat
    [measures] = [b for b in bodies if "measures to" in b]
    assert "Digital-skills sessions: no data yet." in measures


ALLIANCE_MATRIX = """\
alliance: {name: Test Alliance, default_timezone: Europe/Berlin}
organisations:
  - {slug: berlin-lib, name: Berlin Lib, country: DE, timezone: Europe/Berlin}
  - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: Europe/Berlin}
members:
  - {id: berta, name: Berta, organisation: berlin-lib, reporting: true, <<berta>>}
  - {id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}
measures:
  - {key: digital_skills_sessions, name: Digital-skills sessions, unit: sessions, target: 30}
"""
