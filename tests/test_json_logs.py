"""ALLIANCE_BOT_LOG_FORMAT=json: one JSON object a line, with the ids that tie events together,
and never what a member answered nor a secret. (The real ``alliance-bot run`` writing JSON
lines is in tests/test_health.py.)"""

from __future__ import annotations

import io
import json
import logging
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from adapters.logs import stream_handler
from adapters.settings import load_settings
from bot.logcontext import log_context
from bot.settings import explain_settings_error
from bot.storage.records import CheckIn
from tests.harnesses.console import ConsoleHarness

MONDAY_7 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ANSWER = "our-barrier-is-SENTINEL-7f3a9c the printer queue"
PASSWORD = "pw-SENTINEL-41d2"
ALLIANCE = textwrap.dedent("""\
    alliance: {name: Logs Alliance, default_timezone: UTC}
    organisations:
      - {slug: lib, name: The Library, country: DE, timezone: UTC}
    members:
      - {id: lea, name: Lea, organisation: lib, reporting: true}
    campaigns:
      - key: pulse
        name: Pulse
        prompts: [name-a-barrier]
        audience: {members: [lea]}
        schedule: "0 8 * * MON"
""")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record of the process, at DEBUG, through the JSON handler the CLI installs."""
    out = io.StringIO()
    handler = stream_handler("json", out)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


async def test_an_answer_is_logged_by_its_ids_never_by_its_text(
    tmp_path: Path, sqlite_url: str, json_log: io.StringIO
) -> None:
    async with ConsoleHarness.started(tmp_path, sqlite_url, MONDAY_7, ALLIANCE) as h:
        await h.runtime.advance(MONDAY_7 + timedelta(hours=1, minutes=1))
        [prompt] = h.inbox("lea")
        replies = await h.reply("lea", prompt.ref, ANSWER)
        assert replies, "the answer was acknowledged"
        async with h.runtime.db.session() as s:
            [stored] = (await s.scalars(select(CheckIn))).all()
        assert "SENTINEL-7f3a9c" in stored.answer_text  # the text went all the way through

    text = json_log.getvalue()
    assert "SENTINEL-7f3a9c" not in text
    entries = lines(json_log)
    assert any(e["logger"] == "bot.runtime" and e["level"] == "INFO" for e in entries), entries
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
        assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    handled = [e for e in entries if e.get("platform") == "console" and e.get("platform_ref")]
    assert handled, "the answer's handling is logged with its platform and reference"


def test_ids_come_from_the_context_and_from_extra(json_log: io.StringIO) -> None:
    log = logging.getLogger("bot.delivery")
    with log_context(delivery_id=41, member_id=7, platform="slack"):
        log.info("sent")
        with log_context(platform_ref="1700000000.000100"):
            log.warning("slow", extra={"delivery_id": 42})
    log.info("outside")
    first, second, third = lines(json_log)[-3:]
    assert first == first | {"message": "sent", "delivery_id": 41, "member_id": 7}
    assert first["platform"] == "slack" and "platform_ref" not in first
    assert second["delivery_id"] == 42 and second["platform_ref"] == "1700000000.000100"
    assert (second["level"], second["logger"]) == ("WARNING", "bot.delivery")
    assert not {"delivery_id", "member_id", "platform"} & set(third)


def test_secrets_and_statement_values_are_left_out(json_log: io.StringIO) -> None:
    log = logging.getLogger("bot.storage")
    url = f"postgresql+asyncpg://bot:{PASSWORD}@db.example.org/alliance"
    log.error("could not reach %s", url)
    try:
        raise RuntimeError(
            "(sqlite3.IntegrityError) NOT NULL constraint failed\n"
            "[SQL: INSERT INTO checkins (answer_text) VALUES (?)]\n"
            f"[parameters: ('{ANSWER}',)]\n"
            "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
        )
    except RuntimeError:
        log.exception("could not store a check-in")
    text = json_log.getvalue()
    assert PASSWORD not in text and "SENTINEL-7f3a9c" not in text
    reached, failed = lines(json_log)[-2:]
    assert (
        reached["message"] == "could not reach postgresql+asyncpg://bot:***@db.example.org/alliance"
    )
    assert "[SQL: INSERT INTO checkins" in failed["exception"]
    assert "[parameters: hidden]" in failed["exception"]


def test_library_debug_lines_are_dropped_and_the_bots_own_kept(json_log: io.StringIO) -> None:
    logging.getLogger("aiosqlite").debug("executing %s", ANSWER)
    logging.getLogger("adapters.slack.port").debug("posting to D0123")
    logging.getLogger("slack_bolt.App").info("library news")
    messages = [entry["message"] for entry in lines(json_log)]
    assert messages[-2:] == ["posting to D0123", "library news"]
    assert "SENTINEL-7f3a9c" not in json_log.getvalue()


def test_text_stays_the_default_and_the_format_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALLIANCE_BOT_LOG_FORMAT", raising=False)
    assert load_settings().log_format == "text"
    monkeypatch.setenv("ALLIANCE_BOT_LOG_FORMAT", " JSON ")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("ALLIANCE_BOT_LOG_FORMAT", "yaml")
    with pytest.raises(ValidationError) as caught:
        load_settings()
    message = explain_settings_error(caught.value)
    assert "ALLIANCE_BOT_LOG_FORMAT" in message and "'text' or 'json'" in message
