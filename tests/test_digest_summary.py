"""A digest that stays readable at any size (issue 15, point 7): past 60 people who have not
answered, the chat digest gives numbers and the organisations most behind, on every platform,
and the names go to the export."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from adapters.console.translate import parse_line
from adapters.matrix.digest_html import digest_html
from adapters.slack.digest_blocks import digest_blocks
from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from tests.harnesses.console import ConsoleHarness

SIZES = {"big": 40, "mid": 25, "small": 5}
ALLIANCE = (
    textwrap.dedent("""\
    alliance: {name: Many, default_timezone: UTC}
    organisations:
      - {slug: big, name: Big Library Network, country: DE, timezone: UTC}
      - {slug: mid, name: Middle NGO, country: FR, timezone: UTC}
      - {slug: small, name: Small Hub, country: KE, timezone: UTC}
      - {slug: team, name: Backbone, country: DE, timezone: UTC, kind: backbone}
    members:
      - {id: staff, name: Staff, organisation: team, role: backbone}
""")
    + "".join(
        f"  - {{id: {org}{n}, name: Person {org} {n}, organisation: {org}}}\n"
        for org, count in SIZES.items()
        for n in range(count)
    )
    + textwrap.dedent("""\
    campaigns:
      - key: pulse
        name: Pulse
        prompts: [name-a-barrier]
        audience: {organisations: [big, mid, small]}
        schedule: "0 9 * * MON"
""")
)


async def test_a_long_list_of_names_becomes_numbers_and_goes_to_the_export(
    tmp_path: Path, sqlite_url: str
) -> None:
    start = datetime(2026, 11, 23, 8, tzinfo=UTC)
    async with ConsoleHarness.started(tmp_path, sqlite_url, start, ALLIANCE) as h:
        await h.run_until(datetime(2026, 11, 23, 10, tzinfo=UTC))
        await h.reply("small0", h.inbox("small0")[0].ref, "Funding.")
        [text] = await h.command("staff", "digest")
        assert "69 people in 3 organisations have not answered yet" in text
        behind = text.split("Most behind:")[1].splitlines()[1:4]
        assert [line.strip() for line in behind] == [
            "Big Library Network: 40",
            "Middle NGO: 25",
            "Small Hub: 4",
        ]
        assert "Person big 7" not in text  # no names in chat
        event = parse_line("/digest export csv", "staff", h.clock.now())
        replies = await h.runtime.handle(event)  # type: ignore[arg-type]
        [file] = replies[0].attachments
        csv = file.content.decode()
        assert "not answered: organisation,member,what" in csv
        assert "Big Library Network,Person big 7,exercise" in csv
        assert "Person small 0" not in csv.split("not answered")[1]  # she answered

        async with h.runtime.db.session() as s:
            digest = await compute_digest(s, Period.parse_key("2026-W48"))
        assert digest.pending == () and digest.pending_summary is not None
        blocks = json.dumps(digest_blocks(digest))
        assert "69 people in 3 organisations" in blocks and "Big Library Network: 40" in blocks
        html = digest_html(digest)
        assert "69 people in 3 organisations" in html and "<li>Middle NGO: 25</li>" in html
