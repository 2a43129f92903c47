"""Checks that need more than one item: duplicates and references between sections."""

from __future__ import annotations

import difflib
from typing import Any

from bot.alliance.schema import ChannelSpec, MeasureSpec
from bot.alliance.where import STAFF_ONLY, Where
from bot.domain.prompts import PromptDef
from bot.domain.values import PromptKind, Role
from bot.library import PromptLibrary, generic_measure_prompt
from bot.yamlsource import Problem


class CrossCheck:
    """Checks that need more than one item: duplicates and references between sections."""

    def __init__(
        self, library: PromptLibrary, problems: list[Problem], named: dict[str, set[str]]
    ) -> None:
        self.named = named
        self.library = library
        self.problems = problems
        self.all_prompts: dict[str, PromptDef] = dict(library.prompts)

    def _unique(self, items: list[tuple[Any, Where]], attr: str, what: str) -> set[str]:
        seen: set[str] = set()
        for item, where in items:
            value = getattr(item, attr)
            if value in seen:
                self.problems.append(
                    where.problem(
                        (attr,),
                        f"{what} “{value}” appears twice; keep one, or give this one another.",
                    )
                )
            seen.add(value)
        return seen

    def prompts(self, custom: list[tuple[PromptDef, Where]]) -> dict[str, PromptDef]:
        prompts = dict(self.library.prompts)
        for prompt, where in custom:
            if prompt.id in prompts:
                self.problems.append(
                    where.problem(
                        ("id",), f"the prompt id “{prompt.id}” is already taken; choose another id."
                    )
                )
            prompts[prompt.id] = prompt
        self.all_prompts = prompts
        return prompts

    def measures(
        self, measures: list[tuple[Any, Where]], prompts: dict[str, PromptDef]
    ) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for spec, where in measures:
            assert isinstance(spec, MeasureSpec)
            if spec.prompt:
                chosen = prompts.get(spec.prompt)
                if chosen is None or chosen.kind is not PromptKind.MEASURE:
                    self.problems.append(
                        where.problem(
                            ("prompt",),
                            f"“{spec.prompt}” is not a "
                            "measure prompt; name one whose `kind` is measure, or "
                            "leave `prompt` out to use the library's.",
                        )
                    )
                    continue
                resolved[spec.key] = chosen.id
                continue
            template = self.library.measure_template(spec.key)
            if template is None:
                template = generic_measure_prompt(spec.key, spec.name, spec.unit, spec.names)
                prompts[template.id] = template
            resolved[spec.key] = template.id
        return resolved

    def references(self, items: dict[str, list[tuple[Any, Where]]]) -> None:
        orgs = self._unique(items["organisations"], "slug", "the organisation")
        members = self._unique(items["members"], "id", "the member")
        measures = self._unique(items["measures"], "key", "the measure")
        channels = self._unique(items["channels"], "key", "the channel")
        orgs |= self.named["organisations"]
        members |= self.named["members"]
        measures |= self.named["measures"]
        channels |= self.named["channels"]
        self._unique(items["campaigns"], "key", "the campaign")
        self._unique(items["digests"], "key", "the digest")
        self._unique(items["webhooks"], "key", "the webhook")
        self._identities(items["members"])
        self._addresses(items["channels"])
        for spec, where in items["members"]:
            if spec.organisation not in orgs:
                self._missing(where, ("organisation",), "organisation", spec.organisation, orgs)
        for spec, where in items["measures"]:
            for slug in spec.targets:
                if slug not in orgs:
                    self._missing(where, ("targets", slug), "organisation", slug, orgs)
        for spec, where in items["campaigns"]:
            for index, pid in enumerate(spec.prompts):
                if pid not in self.all_prompts:
                    self._missing(where, ("prompts", index), "prompt", pid, set(self.all_prompts))
            for index, key in enumerate(spec.measures):
                if key not in measures:
                    self._missing(where, ("measures", index), "measure", key, measures)
            for index, slug in enumerate(spec.audience.organisations):
                if slug not in orgs:
                    self._missing(
                        where, ("audience", "organisations", index), "organisation", slug, orgs
                    )
            for index, handle in enumerate(spec.audience.members):
                if handle not in members:
                    self._missing(where, ("audience", "members", index), "member", handle, members)
            for index, target in enumerate(spec.deliver_to):
                if target != "dm" and target not in channels:
                    self._missing(
                        where, ("deliver_to", index), "channel", target, channels | {"dm"}
                    )
        roles = {r.value for r in Role}
        staff_channels = {c.key for c, _ in items["channels"] if c.purpose == "staff"}
        for spec, where in items["digests"]:
            for index, target in enumerate(spec.to):
                private = target in staff_channels or target in ("backbone", "admin")
                if spec.kind == "staff" and target in channels | roles and not private:
                    self.problems.append(
                        where.problem(
                            ("to", index),
                            (STAFF_ONLY.format(target=target)),
                        )
                    )
                if target not in channels and target not in roles:
                    self._missing(
                        where,
                        ("to", index),
                        "channel or role",
                        target,
                        channels | {"backbone", "admin"},
                    )

    def _missing(
        self, where: Where, path: tuple[str | int, ...], what: str, value: str, known: set[str]
    ) -> None:
        close = difflib.get_close_matches(value, sorted(known), n=1)
        hint = f" Did you mean “{close[0]}”?" if close else f" Define the {what} first."
        self.problems.append(where.problem(path, f"there is no {what} “{value}”.{hint}"))

    def _identities(self, members: list[tuple[Any, Where]]) -> None:
        seen: dict[str, dict[str, str]] = {}  # platform -> account -> member (no tuple each)
        for spec, where in members:
            for platform, external in spec.identities().items():
                accounts = seen.setdefault(platform, {})
                other = accounts.get(external)
                if other is not None and other != spec.id:
                    self.problems.append(
                        where.problem(
                            (platform,),
                            f"the {platform} account "
                            f"“{external}” already belongs to member “{other}”; "
                            "one account is one member.",
                        )
                    )
                accounts[external] = spec.id

    def _addresses(self, channels: list[tuple[Any, Where]]) -> None:
        seen: dict[tuple[str, str], str] = {}
        for spec, where in channels:
            assert isinstance(spec, ChannelSpec)
            for platform, address in spec.addresses().items():
                other = seen.get((platform, address))
                if other is not None:
                    self.problems.append(
                        where.problem(
                            (platform,),
                            f"“{address}” is already the {platform} address of channel “{other}”.",
                        )
                    )
                seen[(platform, address)] = spec.key
