"""Validation of a whole alliance file: every problem, each with its line, field and fix.

The platforms' id formats come in as ``platforms`` (``adapters/registry.py`` collects them);
a caller that passes none gets :data:`UNCHECKED`.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.alliance.references import CrossCheck
from bot.alliance.schema import (
    TOP_LEVEL,
    AllianceInfo,
    CampaignSpec,
    ChannelSpec,
    DigestSpec,
    MeasureSpec,
    MemberSpec,
    OrganisationSpec,
    PlatformIds,
    TargetSpec,
    WebhookSpec,
    sections,
)
from bot.alliance.where import Where
from bot.domain.prompts import PromptDef
from bot.library import PromptLibrary, load_library
from bot.yamlsource import (
    MAX_FILE_BYTES,
    Problem,
    YamlDocument,
    explain_pydantic,
    read_yaml_file,
)

T = TypeVar("T", bound=BaseModel)
UNCHECKED = (
    PlatformIds("console", member_default=str, channel_default=lambda key: f"#{key}"),
    PlatformIds("slack"),
    PlatformIds("matrix"),
)
"""For callers that pass no platforms (tests, benchmarks, a Runtime given none): the
platforms this repository ships, by name only, their ids taken as written. The commands pass
the registry's, which check each platform's format."""


@dataclass
class ValidatedAlliance:
    """A file that passed validation, with the prompts it uses resolved."""

    info: AllianceInfo
    organisations: list[OrganisationSpec]
    members: list[MemberSpec]
    measures: list[MeasureSpec]
    channels: list[ChannelSpec]
    campaigns: list[CampaignSpec]
    digests: list[DigestSpec]
    prompts: dict[str, PromptDef]
    webhooks: list[WebhookSpec] = field(default_factory=list)
    measure_prompts: dict[str, str] = field(default_factory=dict)
    prompt_sources: dict[str, str] = field(default_factory=dict)

    def member_timezone(self, member: MemberSpec) -> str:
        return member.timezone or self._zones[member.organisation]

    @cached_property
    def _zones(self) -> dict[str, str]:
        return {o.slug: o.timezone for o in self.organisations}


def validate_file(
    path: Path,
    library: PromptLibrary | None = None,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    platforms: Sequence[PlatformIds] | None = None,
) -> tuple[ValidatedAlliance | None, list[Problem]]:
    """Read and check ``path``; the alliance is returned only when there is no problem at all.
    A file over ``max_bytes``, not UTF-8, or whose aliases expand too far is refused unread.
    Members and channels take ids on ``platforms``, checked as each platform says."""
    if not path.is_file():
        return None, [Problem(str(path), 0, "", "there is no such file; check the path.")]
    doc = read_yaml_file(path, max_bytes=max_bytes)
    if library is None:
        library, lib_problems = load_library()
        if lib_problems:
            return None, lib_problems
    return validate_document(
        doc, library, base_dir=path.parent, max_bytes=max_bytes, platforms=platforms
    )


def validate_document(
    doc: YamlDocument,
    library: PromptLibrary,
    base_dir: Path,
    max_bytes: int = MAX_FILE_BYTES,
    platforms: Sequence[PlatformIds] | None = None,
) -> tuple[ValidatedAlliance | None, list[Problem]]:
    problems = list(doc.problems)
    models = sections(UNCHECKED if platforms is None else platforms)
    if problems and doc.data is None:
        return None, problems
    if not isinstance(doc.data, dict):
        return None, [
            doc.problem(
                (),
                "an alliance file is a mapping with `alliance:`, "
                "`organisations:`, `members:` and so on at its top.",
            )
        ]
    data: dict[str, Any] = doc.data
    for key in data:
        if key not in TOP_LEVEL:
            problems.append(
                doc.problem(
                    (key,), f"unknown section; the sections are {', '.join(sorted(TOP_LEVEL))}."
                )
            )
    info = _one(doc, data, "alliance", AllianceInfo, problems)
    # Items that exist but have a mistake of their own are not also reported as missing.
    named = {
        section: _raw_keys(data.get(section), key)
        for section, key in (
            ("organisations", "slug"),
            ("members", "id"),
            ("measures", "key"),
            ("channels", "key"),
        )
    }
    items: dict[str, list[tuple[Any, Where]]] = {}
    for section, model in models.items():
        items[section] = _many(doc, data, section, model, problems, drop=section == "members")
    custom = _many(doc, data, "prompts", PromptDef, problems)
    if "members_csv" in data:
        csv_file = data["members_csv"]
        items["members"] += _csv_members(
            doc, csv_file, base_dir, problems, max_bytes, models["members"]
        )
    items["measures"] = _merge_targets(items["measures"], items.pop("targets"), problems)
    checker = CrossCheck(library, problems, named)
    prompts = checker.prompts(custom)
    measure_prompts = checker.measures(items["measures"], prompts)
    checker.references(items)
    if problems or info is None:
        return None, sorted(set(problems), key=lambda p: (p.source, p.line, p.field))
    return ValidatedAlliance(
        info=info,
        organisations=[i for i, _ in items["organisations"]],
        members=[i for i, _ in items["members"]],
        measures=[i for i, _ in items["measures"]],
        channels=[i for i, _ in items["channels"]],
        campaigns=[i for i, _ in items["campaigns"]],
        digests=[i for i, _ in items["digests"]],
        webhooks=[i for i, _ in items["webhooks"]],
        prompts=prompts,
        measure_prompts=measure_prompts,
        prompt_sources={
            pid: (
                "library"
                if pid in library
                else "alliance"
                if any(p.id == pid for p, _ in custom)
                else "generated"
            )
            for pid in prompts
        },
    ), []


def _raw_keys(raw: object, key: str) -> set[str]:
    if not isinstance(raw, list):
        return set()
    return {str(item[key]) for item in raw if isinstance(item, dict) and key in item}


def _merge_targets(
    measures: list[tuple[Any, Where]], targets: list[tuple[Any, Where]], problems: list[Problem]
) -> list[tuple[Any, Where]]:
    """Fold the `targets:` section into the measures it names."""
    by_key = {spec.key: index for index, (spec, _) in enumerate(measures)}
    merged = list(measures)
    for target, where in targets:
        assert isinstance(target, TargetSpec)
        index = by_key.get(target.measure)
        if index is None:
            close = difflib.get_close_matches(target.measure, sorted(by_key), n=1)
            hint = f" Did you mean “{close[0]}”?" if close else " Define it under `measures:`."
            problems.append(
                where.problem(("measure",), f"there is no measure “{target.measure}”.{hint}")
            )
            continue
        spec, spec_where = merged[index]
        if target.organisation is None:
            if spec.target is not None:
                problems.append(
                    where.problem(
                        ("target",),
                        f"measure “{spec.key}” already has an "
                        "alliance-wide target; set it in one place.",
                    )
                )
                continue
            spec = spec.model_copy(update={"target": target.target})
        else:
            if target.organisation in spec.targets:
                problems.append(
                    where.problem(
                        ("organisation",),
                        f"“{target.organisation}” already has a target for “{spec.key}”.",
                    )
                )
                continue
            spec = spec.model_copy(
                update={"targets": {**spec.targets, target.organisation: target.target}}
            )
        merged[index] = (spec, spec_where)
    return merged


def _one(
    doc: YamlDocument, data: dict[str, Any], key: str, model: type[T], problems: list[Problem]
) -> T | None:
    if key not in data:
        problems.append(
            doc.problem((), f"the `{key}:` section is missing; add it with at least a `name`.")
        )
        return None
    try:
        return TypeAdapter(model).validate_python(data[key])
    except ValidationError as err:
        problems += doc.pydantic_problems(err, (key,))
        return None


def _many(
    doc: YamlDocument,
    data: dict[str, Any],
    key: str,
    model: type[T],
    problems: list[Problem],
    *,
    drop: bool = False,
) -> list[tuple[T, Where]]:
    """Each item of section ``key`` as a model. ``drop``: each raw item leaves the document
    once read, so a 100,000-member file never holds all raw members and all models at once."""
    raw = data.get(key) or []
    if not isinstance(raw, list):
        problems.append(
            doc.problem((key,), f"`{key}` should be a list (each item starts with “- ”).")
        )
        return []
    adapter = TypeAdapter(model)
    out: list[tuple[T, Where]] = []
    for index, item in enumerate(raw):
        if drop:
            raw[index] = None
        try:
            out.append((adapter.validate_python(item), Where(doc, (key, index))))
        except ValidationError as err:
            problems += doc.pydantic_problems(err, (key, index))
    return out


def _csv_members(
    doc: YamlDocument,
    name: object,
    base_dir: Path,
    problems: list[Problem],
    max_bytes: int,
    model: type[BaseModel],
) -> list[tuple[Any, Where]]:
    """Members from a spreadsheet export: one row each, columns named as in the YAML."""
    path = base_dir / str(name)
    if not path.is_file():
        problems.append(
            doc.problem(
                ("members_csv",),
                f"there is no file {path}; check the path (it is relative to the alliance file).",
            )
        )
        return []
    text = _csv_text(path, problems, max_bytes)
    if text is None:
        return []
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _csv_rows(reader, str(path), problems, model)
    except csv.Error as exc:
        problems.append(Problem(str(path), reader.line_num, "", f"this is not valid CSV ({exc})."))
        return []


def _csv_text(path: Path, problems: list[Problem], max_bytes: int) -> str | None:
    try:
        if path.stat().st_size > max_bytes:
            message = f"the file is over the limit of {max_bytes:,} bytes; split the alliance."
            problems.append(Problem(str(path), 0, "", message))
            return None
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(path), 0, "", f"I cannot read this file ({exc.strerror})."))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.append(
            Problem(
                str(path),
                line,
                "",
                f"this line is not UTF-8 text (byte 0x{raw[exc.start]:02X}); export the "
                "spreadsheet as “CSV UTF-8”.",
            )
        )
        return None


def _csv_rows(
    reader: csv.DictReader[str], path: str, problems: list[Problem], model: type[BaseModel]
) -> list[tuple[Any, Where]]:
    columns = tuple(model.model_fields)  # the member's own, then one per platform
    unknown = [c for c in reader.fieldnames or [] if c not in columns]
    if unknown:
        problems.append(
            Problem(
                path,
                1,
                "",
                f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(columns)}.",
            )
        )
        return []
    adapter = TypeAdapter(model)
    out: list[tuple[Any, Where]] = []
    for row in reader:
        line = reader.line_num
        values = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip()}
        try:
            out.append((adapter.validate_python(values), Where(None, (), path, line)))
        except ValidationError as err:
            for entry in err.errors(include_url=False):
                where = Where(None, (), path, line)
                problems.append(where.problem(entry["loc"], explain_pydantic(entry)))
    return out
