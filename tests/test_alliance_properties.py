"""The alliance-file loader on arbitrary input (hypothesis): it never raises, and anything it
refuses comes with at least one problem naming a line of the file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alliance.validate import validate_file
from tests.harness import ALLIANCE

LINES = ALLIANCE.splitlines()


def check(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "alliance.yaml"
        path.write_bytes(content)
        alliance, problems = validate_file(path)
    assert (alliance is None) == bool(problems)
    for problem in problems:
        assert str(problem).strip()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_refused_or_read_never_raised(content: bytes) -> None:
    check(content)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_refused_or_read_never_raised(content: str) -> None:
    check(content.encode("utf-8", "surrogatepass"))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, len(LINES) - 1), max_size=6),
    st.lists(
        st.sampled_from(
            ["*a", "&a x", "- ", ": :", "{", "]", "!!python/object:os.system", "9" * 200,
             "\t", "---", "key: [&b [*b]]", "timezone: Mars/Olympus", "schedule: '99 * * * *'"]
        ),
        max_size=6,
    ),
)  # fmt: skip
def test_a_real_file_with_lines_broken_is_refused_or_read(cut: list[int], junk: list[str]) -> None:
    lines = list(LINES)
    for index, text in zip(cut, junk, strict=False):
        lines[index] = lines[index][: len(lines[index]) // 2] + text
    check("\n".join(lines).encode())
