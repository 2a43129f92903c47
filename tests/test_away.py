"""Away (issue 15): a member who says they are away, or whom the alliance file marks away, gets
no prompt and no reminder, and the digest counts them neither answered nor missing; an
organisation whose reporting members are all away has its measure asked of its backup reporter.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from bot.alliance.validate import validate_file

BAD_ABSENCES = textwrap.dedent("""\
    alliance: {name: Away Alliance}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
    members:
      - {id: a, name: A, organisation: lib, away: {from: 2026-12-04, until: 2026-11-30}}
      - {id: b, name: B, organisation: lib, away: {from: "2026-02-30", until: 2026-03-02}}
      - {id: c, name: C, organisation: lib, away: {from: next week, until: 2026-03-02}}
      - {id: d, name: D, organisation: lib, away: {until: 2026-03-02}}
      - {id: e, name: E, organisation: lib, away: {from: 2026-12-04, until: 2026-12-04}}
""")


def test_the_alliance_file_s_absences_are_real_days_in_order(tmp_path: Path) -> None:
    path = tmp_path / "alliance.yaml"
    path.write_text(BAD_ABSENCES, encoding="utf-8")
    _, problems = validate_file(path)
    assert [(p.line, p.field, p.message) for p in problems] == [
        (
            5,
            "members[0].away",
            "the absence ends (2026-11-30) before it starts (2026-12-04); `until` is the last "
            "day away, on or after `from`.",
        ),
        (
            6,
            "members[1].away.from",
            "“2026-02-30” is not a real date; check the month and the day.",
        ),
        (
            7,
            "members[2].away.from",
            "“next week” is not a day; write it as YYYY-MM-DD, like 2026-12-20.",
        ),
        (8, "members[3].away.from", "this field is required; add it."),
    ]
    path.write_text(
        BAD_ABSENCES.replace(
            "from: 2026-12-04, until: 2026-11-30", "from: 2026-02-30, until: 2026-03-02"
        )
    )
    _, problems = validate_file(path)
    assert [(p.line, p.message) for p in problems] == [
        (5, "this value cannot be read (day is out of range for month); correct it.")
    ]
