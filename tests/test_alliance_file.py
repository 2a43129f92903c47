"""The alliance file: every mistake reported with its line; loading is atomic and repeatable."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from adapters.cli import app
from bot.alliance.apply import load_alliance
from bot.alliance.validate import validate_file
from bot.storage import models as m
from bot.storage.database import Database
from tests.conftest import EXAMPLE

runner = CliRunner()

SMALL = textwrap.dedent("""\
    alliance:
      name: Test Alliance
      default_timezone: Europe/Paris
    organisations:
      - {slug: lyon-bm, name: BM Lyon, kind: library, country: FR, timezone: Europe/Paris}
      - {slug: ny-reads, name: NY Reads, kind: ngo, country: US, timezone: America/New_York}
    members:
      - {id: ana, name: Ana, organisation: lyon-bm, locale: fr, reporting: true, slack: "T01:U01"}
      - {id: bob, name: Bob, organisation: ny-reads, role: backbone, matrix: "@bob:example.org"}
    measures:
      - {key: people_reached, name: People reached, unit: people, target: 100}
    channels:
      - {key: staff, name: Staff, purpose: staff, slack: C0STAFF}
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barrier]
        measures: [people_reached]
        schedule: "0 9 * * MON"
""")

# Ten different mistakes, one per numbered comment; the line of each is asserted below.
TEN_MISTAKES = textwrap.dedent("""\
    alliance:
      name: Broken Alliance
    organisations:
      - slug: lyon-bm
        name: Bibliothèque de Lyon
        country: fr                      # 1 lowercase country
        timezone: Europe/Paris
      - slug: berlin
        name: Berlin
        country: DE
        timezone: Europe/Berlyn          # 2 unknown zone
    members:
      - {id: ana, name: Ana, organisation: lyon-bm}
      - {id: ana, name: Ana Again, organisation: lyon-bm}   # 3 duplicate member
      - {id: cy, name: Cy, organisation: atlantis}          # 4 missing organisation
      - {id: di, name: Di, organisation: berlin, role: boss}   # 5 bad role
      - {id: ed, name: Ed, organisation: berlin, emial: ed@example.org}   # 6 unknown field
    measures:
      - {key: people_reached, name: People reached, unit: people}
    targets:
      - {measure: volunteer_hours, target: 50}   # 7 target on a missing measure
    campaigns:
      - key: weekly
        name: Weekly
        prompts: [name-a-barier]                 # 8 missing prompt
        schedule: "0 9 * * MON"
        deliver_to: [newsroom]                   # 9 missing channel
      - key: monthly
        name: Monthly
        measures: [people_reached]
        schedule: "0 25 1 * *"                   # 10 bad cron
""")


def _write(tmp_path: Path, text: str, name: str = "alliance.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _mistake_lines(text: str) -> dict[int, int]:
    return {
        int(m.group(1)): n
        for n, line in enumerate(text.splitlines(), 1)
        if (m := re.search(r"# (\d+) ", line))
    }


def test_ten_mistakes_are_all_reported_with_their_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, TEN_MISTAKES)
    alliance, problems = validate_file(path)
    assert alliance is None
    reported_lines = {p.line for p in problems}
    expected = _mistake_lines(TEN_MISTAKES)
    assert len(expected) == 10
    missing = {k: line for k, line in expected.items() if line not in reported_lines}
    assert missing == {}, [str(p) for p in problems]
    assert len(problems) == 10, [str(p) for p in problems]
    text = "\n".join(map(str, problems))
    assert "Did you mean Europe/Berlin?" in text
    assert "Did you mean “name-a-barrier”?" in text
    assert "appears twice" in text and "atlantis" in text


def test_validate_command_exits_non_zero_with_every_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, TEN_MISTAKES)
    result = runner.invoke(app, ["alliance", "validate", str(path)])
    assert result.exit_code == 1
    assert result.output.count(f"{path}:") == 10
    assert "10 problems" in result.output and "Traceback" not in result.output


def test_a_bad_file_leaves_the_database_as_it_was(tmp_path: Path, sqlite_url: str) -> None:
    good = _write(tmp_path, SMALL, "good.yaml")
    assert (
        runner.invoke(app, ["--database-url", sqlite_url, "alliance", "load", str(good)]).exit_code
        == 0
    )
    before = asyncio.run(_snapshot(sqlite_url))
    bad = _write(tmp_path, TEN_MISTAKES, "bad.yaml")
    result = runner.invoke(app, ["--database-url", sqlite_url, "alliance", "load", str(bad)])
    assert result.exit_code == 1 and "nothing was loaded" in result.output
    assert asyncio.run(_snapshot(sqlite_url)) == before


async def _snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    db = Database(url)
    try:
        out: dict[str, list[tuple[object, ...]]] = {}
        async with db.session() as s:
            for model in (
                m.Organisation,
                m.Member,
                m.Identity,
                m.Channel,
                m.ChannelAddress,
                m.Measure,
                m.MeasureTarget,
                m.Campaign,
                m.Prompt,
                m.Alliance,
                m.DigestSchedule,
            ):
                rows = (await s.scalars(select(model))).all()
                cols = [c.key for c in model.__table__.columns]
                out[model.__tablename__] = sorted(
                    tuple(repr(getattr(r, c)) for c in cols) for r in rows
                )
        return out
    finally:
        await db.dispose()


async def test_loading_the_example_twice_changes_nothing(database: Database) -> None:
    alliance, problems = validate_file(EXAMPLE)
    assert problems == [] and alliance is not None
    text = EXAMPLE.read_text(encoding="utf-8")
    first = await load_alliance(database, alliance, text)
    assert first.added and not first.deactivated
    before = await _snapshot(database.url)
    second = await load_alliance(database, alliance, text)
    assert second.unchanged, second.lines()
    assert await _snapshot(database.url) == before
    async with database.session() as s:
        assert await s.scalar(select(func.count()).select_from(m.Member)) == len(alliance.members)
        orgs = await s.scalar(select(func.count(func.distinct(m.Organisation.country))))
        assert orgs is not None and orgs >= 4


async def test_reload_updates_and_deactivates_instead_of_duplicating(
    tmp_path: Path, database: Database
) -> None:
    first, _ = validate_file(_write(tmp_path, SMALL))
    assert first is not None
    await load_alliance(database, first)
    changed = (
        SMALL.replace("name: Bob,", "name: Robert,")
        .replace(
            "  - {id: ana, name: Ana, organisation: lyon-bm, locale: fr, reporting: true, "
            'slack: "T01:U01"}\n',
            "",
        )
        .replace('matrix: "@bob:example.org"', 'slack: "T01:U01"')
    )
    second, problems = validate_file(_write(tmp_path, changed))
    assert second is not None, problems
    report = await load_alliance(database, second)
    assert report.changed == ["member bob"]
    assert report.deactivated == ["member ana"]
    assert report.added == []
    async with database.session() as s:
        members = {mem.handle: mem for mem in (await s.scalars(select(m.Member))).all()}
        assert members["bob"].display_name == "Robert" and not members["ana"].active
        identities = (
            await s.execute(
                select(m.Identity.platform, m.Identity.external_id, m.Identity.member_id)
            )
        ).all()
        assert ("slack", "T01:U01", members["bob"].id) in identities
        assert all(member_id != members["ana"].id for _, _, member_id in identities)


def test_members_from_csv_with_their_own_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(
        "id,name,organisation,role,timezone\n"
        "cara,Cara,lyon-bm,member,Europe/Paris\n"
        "dan,Dan,lyon-bm,chief,Europe/Paris\n"
        "eve,Eve,lyon-bm,member,Mars/Olympus\n"
        "fay,Fay,nowhere,member,\n",
        encoding="utf-8",
    )
    path = _write(tmp_path, SMALL + "members_csv: people.csv\n")
    alliance, problems = validate_file(path)
    assert alliance is None
    rendered = sorted(str(p) for p in problems)
    assert any("people.csv:3" in p and "chief" in p for p in rendered), rendered
    assert any("people.csv:4" in p and "Mars/Olympus" in p for p in rendered), rendered
    assert any("people.csv:5" in p and "nowhere" in p for p in rendered), rendered
    fixed = tmp_path / "people.csv"
    fixed.write_text("id,name,organisation\ncara,Cara,lyon-bm\n", encoding="utf-8")
    alliance, problems = validate_file(path)
    assert problems == [] and alliance is not None
    assert [mem.id for mem in alliance.members] == ["ana", "bob", "cara"]


def test_yaml_syntax_errors_point_at_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "alliance:\n  name: X\norganisations:\n  - slug: a\n   name: b\n")
    _, problems = validate_file(path)
    assert len(problems) == 1 and problems[0].line in (4, 5)
    assert "not valid YAML" in problems[0].message
