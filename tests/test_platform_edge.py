"""The core speaks no platform: no Block Kit, no Matrix HTML, no platform's id format or settings
in bot/; and adapters hold the core by its narrow interface (``bot.edge``), never the Runtime.

Each platform renders the core's neutral digest and declares its own id formats and settings
(``adapters/registry.py``). The scans are of the source text, comments and docstrings included,
so they stay strict and simple: a word below in ``bot/**/*.py`` fails the test.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from adapters.registry import id_checks, platforms
from bot.alliance.validate import UNCHECKED
from tests.conftest import REPO

FORBIDDEN_WORDS = (
    "slack_blocks",  # a Block Kit payload handed to Slack
    '"blocks"',
    "mrkdwn",
    "Block Kit",
    "plain_text",
    "custom.html",  # org.matrix.custom.html
    "formatted_body",
)
FORBIDDEN_PATTERNS = {
    "a Matrix id pattern (^@ or ^!)": re.compile(r"""["']\^\\?[@!#]"""),
    "a Slack id pattern ([TUC][A-Z0-9])": re.compile(r"\[[TUCGDW]{1,4}\]\[A-Z0-9\]"),
    "a Slack id pattern (T[A-Z0-9]{2,})": re.compile(r"[TUCW]\[A-Z0-9\]"),
    "a Matrix server part (:server)": re.compile(r":\[A-Za-z0-9\.\\?-"),
}


def _core_sources() -> dict[str, str]:
    return {
        str(path.relative_to(REPO)): path.read_text(encoding="utf-8")
        for path in sorted((REPO / "bot").rglob("*.py"))
    }


def test_no_core_module_mentions_a_platforms_markup() -> None:
    found = [
        f"{name}: {word}"
        for name, text in _core_sources().items()
        for word in FORBIDDEN_WORDS
        if word in text
    ]
    assert found == []


def test_no_core_module_holds_a_platforms_id_format() -> None:
    found = [
        f"{name}: {what}"
        for name, text in _core_sources().items()
        for what, pattern in FORBIDDEN_PATTERNS.items()
        if pattern.search(text)
    ]
    assert found == []


def test_the_scan_would_catch_what_the_core_used_to_hold() -> None:
    """The old lines of ``bot/alliance/schema.py`` and ``bot/digest/render.py`` fail it."""
    old = (
        r'SLACK_ID = re.compile(r"^(T[A-Z0-9]{2,})[:/](U|W)[A-Z0-9]{2,}$")',
        r'MATRIX_USER = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")',
        r'MATRIX_ROOM = re.compile(r"^[!#][^\s:]+(:[A-Za-z0-9.\-]+(:\d+)?)?$")',
        r'SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")',
    )
    for line in old:
        assert any(p.search(line) for p in FORBIDDEN_PATTERNS.values()), line
    assert any(w in '{"html": ..., "slack_blocks": json.dumps(blocks)}' for w in FORBIDDEN_WORDS)


def test_templates_of_platform_markup_live_with_their_platform() -> None:
    core = {p.name for p in (REPO / "bot").rglob("*.j2")}
    # Plain text, and the agenda's Markdown file (a document format every platform attaches).
    assert core == {"digest.txt.j2", "shared.txt.j2", "agenda.md.j2"}
    assert (REPO / "adapters/slack/templates/digest.blocks.json.j2").is_file()
    assert (REPO / "adapters/matrix/templates/digest.html.j2").is_file()


def test_every_platform_declares_its_ids_and_prefix_without_its_library() -> None:
    names = [p.name for p in platforms()]
    assert names == ["console", "slack", "matrix"]
    assert {p.name: p.command_prefix for p in platforms()} == {
        "console": "",
        "slack": "/",
        "matrix": "!",
    }
    # The core's fallback for callers that pass nothing names the same platforms.
    assert [p.name for p in UNCHECKED] == names
    assert id_checks() == id_checks()  # equal values: the schema's model cache is reused


BLOCKED = """
import sys
from importlib.abc import MetaPathFinder
from pathlib import Path

class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("slack_bolt", "slack_sdk", "nio", "aiohttp"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Missing())
from adapters.registry import id_checks
from bot.alliance.validate import validate_file
_, problems = validate_file(Path(sys.argv[1]), platforms=id_checks())
print("\\n".join(p.message for p in problems))
"""


def test_ids_are_checked_where_no_platform_library_is_installed(tmp_path: Path) -> None:
    """``alliance validate`` without the slack and matrix extras still checks their ids."""
    file = tmp_path / "alliance.yaml"
    file.write_text(
        "alliance: {name: X}\n"
        "organisations: [{slug: a, name: A, country: FR, timezone: UTC}]\n"
        "members:\n"
        "  - {id: ana, name: Ana, organisation: a, slack: U02GHIJKL}\n"
        "  - {id: bo, name: Bo, organisation: a, matrix: bo@example.org}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-c", BLOCKED, str(file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert out.stdout.splitlines() == [
        "slack “U02GHIJKL” should be TEAM:USER ids, like T01ABCDEF:U02GHIJKL.",
        "matrix “bo@example.org” should be a full user id, like @anna:example.org.",
    ]


def test_a_digest_survives_the_outbox_as_its_neutral_document() -> None:
    """A digest reply is stored as JSON in the outbox; each adapter reads the same value back
    and renders it, member text escaped for its own markup."""
    from adapters.matrix.digest_html import with_html
    from adapters.slack.blocks import reply_payload
    from bot.digest.model import Answer, Digest, OrgResponse, Pending
    from bot.digest.render import DigestRenderer, read_document
    from bot.domain.periods import Period
    from bot.ports import Reply

    digest = Digest(
        "Alliance",
        Period.parse_key("2026-W48"),
        "UTC",
        (OrgResponse("a", "Org <A>", 4, 3),),
        (),
        (Pending("Org <A>", (("Dan", "People reached"),)),),  # the measure Dan owes
        highlights=(Answer(7, "Org <A>", "Ann", "Q?", "<!channel> <b>look</b>"),),
    )
    renderer = DigestRenderer()
    reply = Reply(renderer.text(digest), formats=renderer.formats(digest))
    assert read_document(reply.formats) == digest
    assert read_document({"digest": "not json"}) is None
    shown = str(reply_payload(reply)["blocks"])
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "Dan (figures: People reached)" in shown
    html = with_html(reply).formats["html"]
    assert "&lt;b&gt;look&lt;/b&gt;" in html and "<b>look</b>" not in html and "Dan" in html


# --- each platform's settings, and the core as adapters see it ------------------------------


def _settings_words() -> tuple[str, ...]:
    """What a platform's settings look like in source: its model, its variables."""
    words = []
    for platform in platforms():
        words.append(platform.settings.model.__name__)
        words.append(f"ALLIANCE_BOT_{platform.settings.name.upper()}__")
    return tuple(words)


def test_no_core_module_defines_a_platforms_settings() -> None:
    from bot.settings import Settings as CoreSettings

    sections = {platform.settings.name for platform in platforms()}
    assert sections == {"console", "slack", "matrix"}
    assert not sections & set(CoreSettings.model_fields)
    found = [
        f"{name}: {word}"
        for name, text in _core_sources().items()
        for word in _settings_words()
        if word in text
    ]
    assert found == []


def test_the_settings_scan_would_catch_what_the_core_used_to_hold() -> None:
    """Lines of the old ``bot/settings.py`` fail it."""
    old = (
        "class SlackSettings(BaseModel):",
        "    matrix: MatrixSettings = MatrixSettings()",
        '"Slack is half configured: set ALLIANCE_BOT_SLACK__BOT_TOKEN (the xoxb- Bot "',
        'f"Matrix is half configured: ALLIANCE_BOT_MATRIX__{given} is set but "',
    )
    for line in old:
        assert any(word in line for word in _settings_words()), line


def test_the_composition_root_adds_each_platforms_section() -> None:
    from adapters.settings import Settings

    for platform in platforms():
        field = Settings.model_fields[platform.settings.name]
        assert field.annotation is platform.settings.model


CORE_INSIDES = ("bot.runtime", "bot.storage.models")
"""What only the composition root may import: adapters hold the core as ``bot.edge.Core``."""
COMPOSITION_ROOT = {"adapters/commands_run.py"}
"""It builds the Runtime (and the demo's campaign)."""


def _imported_modules(source: str) -> set[str]:
    """Every module ``source`` imports, by its full dotted name (``from bot.storage import
    models`` counts as ``bot.storage.models``), under TYPE_CHECKING too."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_adapter_module_holds_the_runtime_or_the_core_models() -> None:
    found = {
        str(path.relative_to(REPO)): sorted(
            _imported_modules(path.read_text("utf-8")) & set(CORE_INSIDES)
        )
        for path in sorted((REPO / "adapters").rglob("*.py"))
        if str(path.relative_to(REPO)) not in COMPOSITION_ROOT
    }
    assert {name: modules for name, modules in found.items() if modules} == {}


def test_the_import_scan_would_catch_what_adapters_used_to_hold() -> None:
    """The old imports of ``adapters/matrix/placement.py`` and ``adapters/base.py`` fail it."""
    old = (
        "from bot.runtime import Runtime",
        "from bot.storage import models as m",
        "if TYPE_CHECKING:\n    import bot.runtime",
    )
    for line in old:
        assert _imported_modules(line) & set(CORE_INSIDES), line


SETTINGS_WITHOUT_LIBRARIES = (
    BLOCKED.split("from adapters.registry")[0]
    + """
from adapters.registry import platforms
from adapters.settings import Settings, check_platforms
settings = Settings(slack={"bot_token": "xoxb-1"}, matrix={"homeserver": "https://m.example"})
print(sorted(p.name for p in platforms() if p.configured(settings)))
try:
    check_platforms(settings)
except Exception as exc:
    print(exc)
"""
)


def test_settings_load_and_check_where_no_platform_library_is_installed() -> None:
    """The sections and their checks are pure: only ``build`` imports a platform library."""
    out = subprocess.run(
        [sys.executable, "-c", SETTINGS_WITHOUT_LIBRARIES],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    configured, message = out.stdout.splitlines()
    assert configured == "['slack']"  # Matrix needs its user too; the console is the fallback
    assert message.startswith("Matrix is half configured: ALLIANCE_BOT_MATRIX__HOMESERVER is set")
