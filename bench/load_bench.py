"""``alliance load`` of 10,000 and 100,000 members: time and peak RSS, against the loader as it
was before (commit ``BASELINE``), on SQLite and on a throwaway PostgreSQL.

Every figure is one fresh process (its wall time, and its own peak RSS from ``wait4``):

- ours: ``alliance-bot --database-url URL alliance load FILE`` on an empty database;
- ours again: the same command on the loaded database (nothing changes, every row compared);
- restart: ``Runtime.start()`` + ``stop()`` with the unchanged file, as ``run`` does;
- baseline: the same validation and load with ``bot/yamlsource.py`` and ``bot/alliance/``
  (``validate``, ``references``, ``where``, ``apply``) taken from ``BASELINE`` with ``git show``,
  on an empty database, then again on the loaded one (what every restart did).

Targets: 100,000 members in 15 s or less and 300 MiB or less. It prints, never asserts.

    .venv/bin/python bench/load_bench.py   # [--sizes 10000 100000] [--no-pg] [--no-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "6e6b13d52ed75604745251b7ed6d8412b01fe517"
"""The last commit with the ORM loader, node-tree YAML and a load at every start."""
BASELINE_MODULES = {
    "bot.yamlsource": "bot/yamlsource.py",
    "bot.alliance.where": "bot/alliance/where.py",
    "bot.alliance.references": "bot/alliance/references.py",
    "bot.alliance.validate": "bot/alliance/validate.py",
    "bot.alliance.apply": "bot/alliance/apply.py",
}
ORGANISATIONS = 200
ZONES = ("Europe/Berlin", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Africa/Nairobi")
TARGET_S, TARGET_MIB = 15.0, 300.0


def alliance_yaml(members: int) -> str:
    """200 organisations in 5 zones; every member on Slack, one in four on Matrix too; one
    admin, a backbone member per thousand, a reporter per fifty; a measure and a campaign."""
    lines = [
        "alliance: {name: Load Bench Alliance, default_timezone: Europe/Berlin}",
        "organisations:",
        *(
            f"  - {{slug: org-{i:03d}, name: Organisation {i}, kind: library, country: DE, "
            f"timezone: {ZONES[i % len(ZONES)]}}}"
            for i in range(ORGANISATIONS)
        ),
        "channels:",
        "  - {key: staff-room, name: Staff room, purpose: staff, slack: C0STAFF01}",
        "measures:",
        "  - {key: visitors, name: Visitors, unit: people, period: month, target: 1000}",
        "members:",
    ]
    for n in range(members):
        extra = ", role: admin" if n == 0 else ", role: backbone" if n % 1000 == 1 else ""
        extra += ", reporting: true" if n % 50 == 0 else ""
        extra += f", matrix: '@m{n}:example.org'" if n % 4 == 0 else ""
        lines.append(
            f"  - {{id: m{n:06d}, name: Member {n}, organisation: org-{n % ORGANISATIONS:03d}, "
            f"slack: T0B{n % 3}:U{n:08d}{extra}}}"
        )
    lines += [
        "campaigns:",
        "  - key: weekly",
        "    name: Weekly pulse",
        "    prompts: [name-a-barrier]",
        "    measures: [visitors]",
        '    schedule: "0 9 * * MON"',
        "",
    ]
    return "\n".join(lines)


@dataclass
class Run:
    seconds: float
    mib: float
    ok: bool
    note: str = ""


def measure(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` as a fresh process: wall time, its own peak RSS, and whether it succeeded."""
    began = time.perf_counter()
    with subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as proc:
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - began
    ok = proc.returncode == 0
    return Run(seconds, usage.ru_maxrss / 1024, ok, "" if ok else output.strip()[-300:])


def bot(*args: str) -> list[str]:
    return [sys.executable, "-m", "adapters", *args]


def child(mode: str, url: str, file: Path, folder: Path | None = None) -> list[str]:
    extra = [str(folder)] if folder else []
    return [sys.executable, __file__, "--child", mode, url, str(file), *extra]


def extract_baseline(folder: Path) -> str | None:
    """The baseline modules as ``baseline_*`` modules in ``folder``; None, or why not."""
    renames = {name: "baseline_" + name.rsplit(".", 1)[1] for name in BASELINE_MODULES}
    for name, path in BASELINE_MODULES.items():
        try:
            source = subprocess.run(
                ["git", "show", f"{BASELINE}:{path}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            return f"git show {BASELINE[:8]}:{path} failed ({exc}); run from a git checkout"
        for old, new in renames.items():
            source = re.sub(rf"\bfrom {re.escape(old)} import\b", f"from {new} import", source)
        (folder / f"{renames[name]}.py").write_text(source, encoding="utf-8")
    return None


async def run_baseline(url: str, file: Path, folder: Path) -> None:
    sys.path.insert(0, str(folder))
    from baseline_apply import load_alliance  # type: ignore[import-not-found]
    from baseline_validate import validate_file  # type: ignore[import-not-found]

    from bot.storage.database import Database

    alliance, problems = validate_file(file)
    if alliance is None:
        raise SystemExit(f"the baseline found problems: {problems[:3]}")
    text = await asyncio.to_thread(file.read_text, "utf-8")
    db = Database(url)
    try:
        await db.upgrade()
        await load_alliance(db, alliance, text)
    finally:
        await db.dispose()


async def run_restart(url: str, file: Path) -> None:
    from datetime import UTC, datetime

    from bot.clock import ManualClock
    from bot.runtime import Runtime

    runtime = Runtime(url, ManualClock(datetime.now(UTC)), {}, alliance_file=file, real_time=False)
    await runtime.start()
    await runtime.stop()
    if runtime.load_report is None or not runtime.load_report.unchanged:
        raise SystemExit("the restart loaded something: the file was not unchanged")


def load_note(after: bool = False) -> str:
    """The load average; before a run, whether the machine looks quiet (after, it counts ours)."""
    one, five, fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    verdict = "quiet" if one < max(1.0, 0.25 * cpus) else "NOT quiet"
    return (
        f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cpus} CPUs "
        f"({'this run included' if after else verdict})"
    )


def show(label: str, run: Run, against: Run | None = None) -> None:
    ratio = ""
    if against is not None and against.ok and run.ok:
        ratio = f"{run.seconds / against.seconds:6.3f}x time {run.mib / against.mib:6.3f}x RSS"
    state = "" if run.ok else f"  FAILED: {run.note}"
    print(f"    {label:<34} {run.seconds:8.2f} s {run.mib:8.0f} MiB  {ratio}{state}")


def bench_backend(
    name: str, urls: Callable[[str], str], sizes: list[int], tmp: Path, baseline: bool
) -> None:
    folder = tmp / "baseline"
    folder.mkdir(exist_ok=True)
    why_not = extract_baseline(folder) if baseline else "skipped (--no-baseline)"
    for size in sizes:
        file = tmp / f"alliance-{size}.yaml"
        if not file.exists():
            file.write_text(alliance_yaml(size), encoding="utf-8")
        mib = file.stat().st_size / 2**20
        print(f"{name}, {size:,} members ({mib:.1f} MiB file):")
        url = urls(f"ours_{size}")
        env = {"ALLIANCE_BOT_DATA_DIR": str(tmp / "data")}
        ours = measure(bot("--database-url", url, "alliance", "load", str(file)), env)
        again = measure(bot("--database-url", url, "alliance", "load", str(file)), env)
        restart = measure(child("restart", url, file), env)
        old: Run | None = None
        old_again: Run | None = None
        if why_not is None:
            base_url = urls(f"base_{size}")
            old = measure(child("baseline", base_url, file, folder))
            old_again = measure(child("baseline", base_url, file, folder))
        show("ours: alliance load", ours, old)
        show("ours: alliance load again", again, old_again)
        show("ours: restart, file unchanged", restart, old_again)
        if old is not None and old_again is not None:
            show(f"baseline {BASELINE[:8]}: load", old)
            show(f"baseline {BASELINE[:8]}: load again", old_again)
            show(f"baseline {BASELINE[:8]}: restart (loads)", old_again)
        else:
            print(f"    baseline: {why_not}")
        if size >= 100_000 and ours.ok:
            met = ours.seconds <= TARGET_S and ours.mib <= TARGET_MIB
            print(
                f"    target <= {TARGET_S:.0f} s and <= {TARGET_MIB:.0f} MiB: "
                f"{'met' if met else 'NOT met'}"
            )


def main(sizes: list[int], skip_pg: bool, baseline: bool) -> None:
    from bench.common import postgres

    print("alliance load: wall time and peak RSS of each fresh process")
    print(f"Python {sys.version.split()[0]}; {load_note()}")
    with tempfile.TemporaryDirectory(prefix="load-bench-") as name:
        tmp = Path(name)

        def sqlite(db: str) -> str:
            return f"sqlite+aiosqlite:///{tmp / db}.db"

        bench_backend("SQLite", sqlite, sizes, tmp, baseline)
        with postgres(skip_pg) as server:
            if server is not None:
                bench_backend("PostgreSQL", server.create_database, sizes, tmp, baseline)
    print(load_note(after=True))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        mode, url, path = sys.argv[2:5]
        if mode == "baseline":
            asyncio.run(run_baseline(url, Path(path), Path(sys.argv[5])))
        else:
            asyncio.run(run_restart(url, Path(path)))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    main(args.sizes, args.no_pg, not args.no_baseline)
