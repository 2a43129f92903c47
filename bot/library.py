"""The prompt library: YAML files under ``prompts/``, checked on load and by ``prompts lint``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from bot.domain.prompts import PromptDef
from bot.domain.values import AnswerType, Condition, PromptKind
from bot.yamlsource import Problem, load_yaml

EXERCISE_LANGUAGES = ("en", "fr", "es")
_PROMPT = TypeAdapter(PromptDef)


@dataclass(frozen=True)
class PromptLibrary:
    prompts: Mapping[str, PromptDef] = field(default_factory=dict)

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self.prompts

    def __len__(self) -> int:
        return len(self.prompts)

    def get(self, prompt_id: str) -> PromptDef:
        return self.prompts[prompt_id]

    def measure_template(self, measure_key: str) -> PromptDef | None:
        for prompt in self.prompts.values():
            if prompt.kind is PromptKind.MEASURE and prompt.measure == measure_key:
                return prompt
        return None

    def exercises(self) -> list[PromptDef]:
        return [p for p in self.prompts.values() if p.kind is PromptKind.EXERCISE]


def default_root() -> Traversable:
    """The library shipped with the package: works from a checkout and from an installed wheel."""
    return resources.files("prompts")


def _yaml_files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _yaml_files(entry, f"{name}/")
        elif entry.name.endswith((".yaml", ".yml")):
            yield name, entry


def load_library(root: Traversable | Path | None = None) -> tuple[PromptLibrary, list[Problem]]:
    """Read every prompt file; return the prompts that are valid and every problem found."""
    base = root if root is not None else default_root()
    prompts: dict[str, PromptDef] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for name, entry in _yaml_files(base):
        source = f"prompts/{name}"
        doc = load_yaml(entry.read_text(encoding="utf-8"), source)
        problems += doc.problems
        if doc.data is None and not doc.problems:
            problems.append(Problem(source, 1, "", "the file is empty; add a `prompts:` list."))
            continue
        if doc.problems and doc.data is None:
            continue
        items = doc.data.get("prompts") if isinstance(doc.data, dict) else None
        if not isinstance(items, list):
            problems.append(doc.problem((), "a prompt file holds a `prompts:` list at its top."))
            continue
        for index, raw in enumerate(items):
            try:
                prompt = _PROMPT.validate_python(raw)
            except ValidationError as err:
                problems += doc.pydantic_problems(err, ("prompts", index))
                continue
            if prompt.id in prompts:
                problems.append(
                    doc.problem(
                        ("prompts", index, "id"),
                        f"the id “{prompt.id}” is already used in "
                        f"{where[prompt.id]}; give this prompt another id.",
                    )
                )
                continue
            prompts[prompt.id] = prompt
            where[prompt.id] = source
            problems += _style_problems(prompt, doc.problem, index)
    return PromptLibrary(prompts), problems


_PLAIN_SPACE_BEFORE = re.compile(r" [?!;:»]|« ")


def _style_problems(prompt: PromptDef, problem: object, index: int) -> list[Problem]:
    """What the library promises beyond a valid prompt: exercises in every language we ship."""
    assert callable(problem)
    found: list[Problem] = []
    if prompt.kind is PromptKind.EXERCISE:
        missing = [lang for lang in EXERCISE_LANGUAGES if lang not in prompt.text]
        if missing:
            found.append(
                problem(
                    ("prompts", index, "text"),
                    f"exercise “{prompt.id}” has no {', '.join(missing)} text; "
                    "exercises ship in English, French and Spanish.",
                )
            )
        if any("{" in text for text in prompt.text.values()):
            found.append(
                problem(
                    ("prompts", index, "text"),
                    "exercise texts take no placeholders; only measure prompts do.",
                )
            )
    french = prompt.text.get("fr", "")
    if _PLAIN_SPACE_BEFORE.search(french):
        found.append(
            problem(
                ("prompts", index, "text", "fr"),
                "French puts a narrow no-break space (U+202F) before ? ! ; and a no-break "
                "space (U+00A0) before : and inside « », not a plain space.",
            )
        )
    if prompt.kind is PromptKind.EXERCISE:
        return found
    if not all("{organisation}" in t and "{period}" in t for t in prompt.text.values()):
        found.append(
            problem(
                ("prompts", index, "text"),
                "a measure question names {organisation} and {period} in every "
                "language, so the figure is tied to both.",
            )
        )
    return found


def library_summary(library: PromptLibrary) -> dict[str, int]:
    """Counts of exercises per condition, used by ``prompts lint`` to show coverage."""
    counts: Counter[str] = Counter()
    for prompt in library.exercises():
        counts[prompt.conditions[0].value] += 1
    return {c.value: counts[c.value] for c in Condition}


def coverage_problems(library: PromptLibrary) -> list[Problem]:
    """Every condition needs exercises, and the answer types need to be exercised."""
    found = [
        Problem("prompts", 0, "", f"no exercise serves {condition} first; add one.")
        for condition, count in library_summary(library).items()
        if count == 0
    ]
    types = {p.answer for p in library.prompts.values()}
    found += [
        Problem("prompts", 0, "", f"no prompt has `answer: {t}`.")
        for t in AnswerType
        if t not in types
    ]
    return found


def generic_measure_prompt(
    key: str, name: str, unit: str, names: dict[str, str] | None = None
) -> PromptDef:
    """The question asked for a measure the library has no template for (``names``: the
    measure's label in other languages, as the alliance file gives it)."""
    pid = "measure-" + key.replace("_", "-")
    label = {"en": name, **(names or {})}
    return PromptDef(
        id=pid[:60].rstrip("-"),
        kind=PromptKind.MEASURE,
        answer=AnswerType.NUMBER,
        conditions=(Condition.SHARED_MEASUREMENT,),
        practice="data_use",
        measure=key,
        unit={"en": unit},
        text={
            "en": f"{name}: what figure did {{organisation}} reach in {{period}}? "
            f"Answer with a number of {{unit}}.",
            "fr": f"{label.get('fr', name)}\u00a0: pour {{period}}, quel est le chiffre de "
            f"{{organisation}}\u202f? Répondez par un nombre ({{unit}}).",
            "es": f"{label.get('es', name)}: en {{period}}, ¿qué cifra alcanzó {{organisation}}? "
            f"Responda con un número ({{unit}}).",
        },
    )
