"""Hostile alliance files are refused with one sentence naming the line, never a traceback.

The billion-laughs file (nine levels of nine aliases) used to grow past 2.9 GB; it is refused
before anything is built. Each case runs the real ``python -m adapters`` as a subprocess.
"""

from __future__ import annotations

import random
import re
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from bot.alliance.validate import validate_file
from bot.library import load_library
from bot.yamlsource import load_yaml
from tests.botprocess import bot_env
from tests.conftest import EXAMPLE
from tests.test_config_errors import Command, cli, cli_many

BOMB = "".join(
    f"{name}: &{name} [{','.join([inner] * 9)}]\n"
    for name, inner in zip("abcdefghi", ['"lol"', *("*" + c for c in "abcdefgh")], strict=True)
)
VALID_HEAD = textwrap.dedent("""\
    alliance:
      name: Limits
    organisations:
      - slug: lyon
        name: BM Lyon
        country: FR
        timezone: Europe/Paris
    """)


def random_binary() -> bytes:
    """4 KiB of seeded noise whose first invalid UTF-8 byte is on a known line."""
    return random.Random(1212).randbytes(4096)


def first_bad_line(raw: bytes) -> int:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw.count(b"\n", 0, exc.start) + 1
    raise AssertionError("the noise happens to be UTF-8")


CASES = {
    "bomb.yaml": (BOMB.encode(), 6, "aliases"),
    "latin1.yaml": (
        (VALID_HEAD + "members:\n  - id: cafe\n    name: Caf\xe9 Cr\xe8me\n").encode("latin-1"),
        10,
        "not UTF-8",
    ),
    "noise.bin": (random_binary(), first_bad_line(random_binary()), "not UTF-8"),
    "huge-number.yaml": (
        (VALID_HEAD + "measures:\n  - key: books\n    target: " + "9" * 5000 + "\n").encode(),
        10,
        "5,000 digits",
    ),
}


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """``alliance validate`` on each file, all at the same time."""
    folder = tmp_path_factory.mktemp("hostile")
    commands: dict[str, Command] = {}
    for name, (content, _, _) in CASES.items():
        (folder / name).write_bytes(content)
        commands[name] = (("alliance", "validate", str(folder / name)), bot_env("", folder), "")
    return {name: (*result, folder / name) for name, result in cli_many(commands).items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_file_gets_one_sentence_naming_its_line(
    name: str, validated: dict[str, tuple[int, str, Path]]
) -> None:
    _, line, words = CASES[name]
    code, out, file = validated[name]
    assert code == 1, out
    assert "Traceback" not in out
    problems = [row for row in out.splitlines() if row.startswith(f"{file}:")]
    assert len(problems) == 1, out
    assert problems[0].startswith(f"{file}:{line}: ") and words in problems[0], out
    assert re.search(r"\.$", problems[0]), "one whole sentence"
    assert "1 problem; nothing was loaded" in out


def test_the_billion_laughs_file_is_refused_in_under_a_second_and_little_memory(
    tmp_path: Path,
) -> None:
    """Measured in this process so other work on the machine does not count: CPU time."""
    file = tmp_path / "bomb.yaml"
    file.write_text(BOMB)
    library, _ = load_library()
    tracemalloc.start()
    began = time.process_time()
    alliance, problems = validate_file(file, library)
    cpu = time.process_time() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"billion laughs ({len(BOMB)} bytes): refused in {cpu:.4f} s CPU, peak {peak:,} B")
    assert alliance is None and len(problems) == 1 and "aliases" in problems[0].message
    assert cpu < 1.0
    assert peak < 20_000_000


def test_the_size_limit_is_a_setting_and_run_names_it(tmp_path: Path) -> None:
    """``run`` loads ALLIANCE_BOT_ALLIANCE_FILE at start: over the limit, one sentence."""
    env = bot_env(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        tmp_path,
        ALLIANCE_FILE=str(EXAMPLE),
        ALLIANCE_MAX_MB="0.001",
        CONSOLE__ENABLED="true",
    )
    code, out = cli("run", env=env)
    assert code == 2, out
    assert "Traceback" not in out
    error = [row for row in out.splitlines() if row.startswith("Error:")]
    assert len(error) == 1 and "the limit is 1,000" in error[0], out
    assert "ALLIANCE_BOT_ALLIANCE_MAX_MB" in error[0]


def test_aliases_within_reason_still_work() -> None:
    """An anchor reused a few times (a shared audience, say) is ordinary YAML."""
    text = "shared: &who {organisations: [lyon], roles: [member]}\n" + "".join(
        f"c{i}: {{audience: *who}}\n" for i in range(50)
    )
    doc = load_yaml(text, "ok.yaml")
    assert doc.problems == []
    assert doc.data["c49"]["audience"]["roles"] == ["member"]
    assert doc.line_of(("c7", "audience", "roles")) == 1


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\nb: &b [1, *b]\n", 2, "refers to the block that contains it"),
        ("a: 1\nb:\n  when: 2026-02-30\n", 3, "day is out of range"),
        ("a: 1\nb: 'fine'\nc: \x1b[31m\n", 3, "control character (U+001B)"),
        ("a: [" * 2000 + "]" * 2000, 1, "not valid YAML"),
        ("a: 1\nb: 2\na: 3\n", 3, "appears twice"),
    ],
)
def test_odd_yaml_becomes_a_problem_with_its_line(text: str, line: int, words: str) -> None:
    doc = load_yaml(text, "odd.yaml")
    assert [p.line for p in doc.problems] == [line], doc.problems
    assert words in doc.problems[0].message


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("    target: .inf\n", "finite number"),
        ("    target: 1e13\n", "less than or equal to 1000000000000"),
    ],
)
def test_targets_are_finite_and_bounded(tmp_path: Path, extra: str, words: str) -> None:
    file = tmp_path / "targets.yaml"
    file.write_text(
        VALID_HEAD + "measures:\n  - key: books\n    name: Books\n    unit: books\n" + extra
    )
    alliance, problems = validate_file(file)
    assert alliance is None
    assert any(p.line == 12 and words in p.message for p in problems), problems


def test_durations_are_at_most_a_year(tmp_path: Path) -> None:
    file = tmp_path / "durations.yaml"
    campaign = textwrap.dedent("""\
        campaigns:
          - key: weekly
            name: Weekly
            prompts: [name-a-barrier]
            schedule: "0 9 * * MON"
            catch_up: 99999999999999999999d
            reminders: {after: 400d}
        """)
    file.write_text(VALID_HEAD + campaign)
    _, problems = validate_file(file)
    lines = {p.line: p.message for p in problems}
    assert "longer than a year" in lines[13], problems
    assert "longer than a year" in lines[14], problems


def test_a_members_csv_in_latin1_is_one_problem_naming_its_line(tmp_path: Path) -> None:
    (tmp_path / "members.csv").write_bytes(
        "id,name,organisation\nana,Ana,lyon\ncafe,Caf\xe9,lyon\n".encode("latin-1")
    )
    file = tmp_path / "alliance.yaml"
    file.write_text(VALID_HEAD + "members_csv: members.csv\n")
    _, problems = validate_file(file)
    assert [(p.source, p.line) for p in problems] == [(str(tmp_path / "members.csv"), 3)]
    assert "CSV UTF-8" in problems[0].message
