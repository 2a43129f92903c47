"""The example alliance's organisations (names and aliases as in ``examples/alliance.yaml``),
with a few members and campaigns the insight tests drive."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "alliance.yaml"


def organisations() -> str:
    orgs = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["organisations"]
    return yaml.safe_dump({"organisations": orgs}, allow_unicode=True, sort_keys=False)


def alliance(campaigns: str, extra: str = "", settings: str = "") -> str:
    head = textwrap.dedent(f"""\
        alliance: {{name: Digital Bridges Alliance, default_timezone: UTC{settings}}}
        """)
    people = [
        ("anna", "Anna Schmidt", "stadtbibliothek-leipzig", "en", "member"),
        ("claire", "Claire Dubois", "bibliotheque-lyon-guillotiere", "fr", "member"),
        ("lucia", "Lucía Ferreira", "bibliotecas-sevilla", "es", "member"),
        ("mariana", "Mariana López", "red-conecta-mx", "es", "member"),
        ("tom", "Tom Peeters", "bridges-backbone", "en", "backbone"),
    ]
    members = "members:\n" + "".join(
        f"  - {{id: {i}, name: {n}, organisation: {o}, locale: {lang}, role: {role}, "
        f"reporting: {str(role == 'member').lower()}}}\n"
        for i, n, o, lang, role in people
    )
    return head + organisations() + members + textwrap.dedent(campaigns) + textwrap.dedent(extra)
