"""The console adapter driven the way a person or a script drives it, as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.storage.records import Delivery
from tests.conftest import EXAMPLE, REPO
from tests.harnesses.console import ConsoleHarness

SCRIPT = """\
as tom-peeters
advance 1m
I could not find a partner with the same opening hours.
as anna-schmidt
digest
as claire-dubois
digest this week
campaign pause demo
advance 10m
mydata
"""


def cli(
    tmp_path: Path, *args: str, stdin: str = "", timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLIANCE_BOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("ALLIANCE_BOT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "adapters", *args],
        input=stdin,
        text=True,
        capture_output=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_the_demo_is_drivable_from_piped_input_and_exits_at_its_end(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", "--manual-clock", "--start", "2026-11-23T08:59:30", stdin=SCRIPT)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "bot → tom-peeters (DM)" in out
    assert "Thank you! Recorded" in out and "same opening hours" in out
    assert "Digests are for the backbone team" in out  # Anna is a member
    assert "Réponses par organisation" in out  # Claire is an admin, and reads French
    assert "est suspendue" in out
    prompts_to_tom = out.count("bot → tom-peeters (DM)")
    assert prompts_to_tom == 1  # the demo sends one a minute, but it was paused
    assert "Traceback" not in result.stderr


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ALLIANCE_BOT_DATA_DIR": str(tmp_path / "data"),
        "ALLIANCE_BOT_ALLIANCE_FILE": str(EXAMPLE),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters", "run"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        assert proc.stderr is not None
        seen = ""
        while "started" not in seen and time.monotonic() < deadline:
            seen += proc.stderr.readline()
        assert "started" in seen
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


async def test_stopping_sends_what_was_already_accepted(tmp_path: Path, sqlite_url: str) -> None:
    h = ConsoleHarness(tmp_path, sqlite_url, datetime(2026, 11, 22, tzinfo=UTC))
    await h.runtime.start()
    h.clock.set(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    assert await h.runtime.planner.tick() == 1  # accepted into the outbox, not sent yet
    await h.runtime.stop()
    assert [r.kind for r in h.inbox("berta")] == ["prompt"]
    await h.runtime.db.upgrade()
    async with h.runtime.db.session() as s:
        assert (await s.scalars(select(Delivery.status))).all() == ["sent"]
    await h.runtime.db.dispose()


def test_names_references_and_long_waits_are_met_with_a_sentence(tmp_path: Path) -> None:
    """`as` takes an unambiguous part of a name and lists the candidates of an ambiguous one;
    a reply to a reference that is no prompt stores nothing and says so; a wait of hours at
    normal speed says how to move the clock instead of sleeping for hours."""
    script = "as tom\nas a\nreply p999 Our barrier is funding.\nwait 2h\nmydata\nas Anna Schmidt\n"
    started = time.monotonic()
    result = cli(tmp_path, "demo", stdin=script, timeout=60)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "You are now tom-peeters — Tom Peeters" in out
    assert "“a” could be" in out and "anna-schmidt" in out  # several names hold an a
    assert "There is no prompt “p999”" in out and "Nothing was stored" in out
    assert "wait 2h would sleep that long for real" in out and "--speed 3600" in out
    assert "You are now anna-schmidt" in out  # a full name
    assert "You have no check-ins yet" in out  # the reply to p999 stored nothing
    assert time.monotonic() - started < 45  # no two-hour sleep
    assert "Traceback" not in result.stderr
