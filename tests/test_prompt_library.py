"""The prompt library ships valid, in three languages, and a broken file is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from bot.domain.values import Condition, PromptKind
from bot.library import coverage_problems, load_library
from tests.conftest import REPO

runner = CliRunner()


def test_the_shipped_library_lints_clean() -> None:
    library, problems = load_library()
    assert problems == []
    assert coverage_problems(library) == []
    exercises = library.exercises()
    assert len(exercises) >= 40
    for condition in Condition:
        assert any(p.conditions[0] is condition for p in exercises), condition
    for prompt in exercises:
        assert {"en", "fr", "es"} <= set(prompt.text), prompt.id


def test_lint_command_succeeds_on_the_shipped_library() -> None:
    result = runner.invoke(app, ["prompts", "lint"])
    assert result.exit_code == 0, result.output
    assert "all valid" in result.output


def test_measure_templates_fill_in_organisation_and_period() -> None:
    library, _ = load_library()
    template = library.measure_template("digital_skills_sessions")
    assert template is not None and template.kind is PromptKind.MEASURE
    text = template.render("fr", organisation="Bibliothèque de Lyon", period="octobre 2026")
    assert "Bibliothèque de Lyon" in text and "octobre 2026" in text and "{" not in text


def test_missing_translation_falls_back_to_english() -> None:
    library, _ = load_library()
    prompt = library.exercises()[0]
    assert prompt.text_for("de") == prompt.text["en"]
    assert prompt.text_for("fr-CA") == prompt.text["fr"]


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", target)
    return target


def test_a_broken_prompt_file_is_reported_by_name(library_copy: Path) -> None:
    broken = library_copy / "exercises" / "backbone_support.yaml"
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text.replace("answer: text", "answer: essay", 1), encoding="utf-8")
    (library_copy / "exercises" / "bad_yaml.yaml").write_text("prompts:\n  - id: [unclosed\n")
    result = runner.invoke(app, ["prompts", "lint", "--dir", str(library_copy)])
    assert result.exit_code == 1
    assert "prompts/exercises/backbone_support.yaml:" in result.output
    assert "answer" in result.output and "essay" in result.output
    assert "prompts/exercises/bad_yaml.yaml:" in result.output
    assert "Traceback" not in result.output


def test_duplicate_ids_and_unknown_placeholders_are_reported(library_copy: Path) -> None:
    (library_copy / "extra.yaml").write_text(
        "prompts:\n"
        "  - id: name-a-barrier\n    kind: exercise\n    answer: text\n"
        "    conditions: [common_agenda]\n    text: {en: a, fr: b, es: c}\n"
        "  - id: with-placeholder\n    kind: exercise\n    answer: text\n"
        "    conditions: [common_agenda]\n    text: {en: 'hi {name}', fr: b, es: c}\n",
        encoding="utf-8",
    )
    _, problems = load_library(library_copy)
    rendered = [str(p) for p in problems]
    assert any("extra.yaml:2" in p and "already used" in p for p in rendered), rendered
    assert any("extra.yaml:" in p and "{name}" in p for p in rendered), rendered


def test_french_typography_is_checked_in_a_library(tmp_path: Path) -> None:
    """The shipped French texts use no-break spaces; a library that does not is told how."""
    library, _ = load_library()
    french = [p.text["fr"] for p in library.exercises()]
    assert all("\u202f?" in text or "?" not in text for text in french)
    root = tmp_path / "prompts"
    root.mkdir()
    (root / "mine.yaml").write_text(
        "prompts:\n"
        "  - id: my-question\n"
        "    kind: exercise\n"
        "    answer: text\n"
        "    conditions: [continuous_communication]\n"
        "    text: {en: Why?, fr: Pourquoi ?, es: ¿Por qué?}\n",
        encoding="utf-8",
    )
    _, problems = load_library(root)
    assert any("U+202F" in str(p) for p in problems), problems
