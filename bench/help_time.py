"""``alliance-bot --help`` (and ``--version``) against ``python -c pass``: start-up time.

Each command runs R times (default 15) as a fresh process, alternating, so a busy moment hurts
both alike; the figures are the median and the best. The target is ``--help`` in 0.5 s or
less. It prints, never asserts.

    .venv/bin/python bench/help_time.py   # [--runs R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.5


def load_note(after: bool = False) -> str:
    """The load average; before a run, whether the machine looks quiet (after, it counts ours)."""
    one, five, fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    verdict = "quiet" if one < max(1.0, 0.25 * cpus) else "NOT quiet"
    return (
        f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cpus} CPUs "
        f"({'this run included' if after else verdict})"
    )


def commands() -> dict[str, list[str]]:
    """The installed entry point when there is one, else ``python -m adapters``."""
    script = shutil.which("alliance-bot", path=str(Path(sys.executable).parent))
    bot = [script] if script else [sys.executable, "-m", "adapters"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "alliance-bot --help": [*bot, "--help"],
        "alliance-bot --version": [*bot, "--version"],
        "alliance-bot run --help": [*bot, "run", "--help"],
    }


def once(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def main(runs: int) -> None:
    print(f"Start-up time, {runs} runs each, fresh processes, alternating")
    print(f"Python {sys.version.split()[0]}; {load_note()}")
    cmds = commands()
    for argv in cmds.values():  # warm the file cache and bytecode once
        once(argv)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, argv in cmds.items():
            times[name].append(once(argv))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<26} {'median':>8} {'best':>8} {'minus python':>13}  note")
    for name, found in times.items():
        median = statistics.median(found)
        note = ""
        if name == "alliance-bot --help":
            verdict = "met" if median <= TARGET_S else "NOT met"
            note = f"target <= {TARGET_S} s: {verdict}; {median / base:.0f}x python -c pass"
        if name == "alliance-bot run --help":
            note = "imports the runtime (run's own help): not a target"
        print(f"{name:<26} {median:>7.3f}s {min(found):>7.3f}s {median - base:>12.3f}s  {note}")
    print(load_note(after=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    main(parser.parse_args().runs)
