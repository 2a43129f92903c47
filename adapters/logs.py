"""Logging for the command line: text (the default) or one JSON object per line.

    setup_logging("INFO", "json")   # ALLIANCE_BOT_LOG_LEVEL, ALLIANCE_BOT_LOG_FORMAT

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the ids that tie
events together when they are known (``delivery_id``, ``member_id``, ``platform``,
``platform_ref``: from :func:`bot.logcontext.log_context` or ``extra=``) and ``exception``.

In both formats the passwords of URLs are masked and the values a failed SQL statement carried
(SQLAlchemy's ``[parameters: ...]``, which can hold what a member wrote) are left out.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from bot.logcontext import IDS, current_ids
from bot.settings import mask_urls

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEBUG_KEPT = ("bot", "adapters", "alliance_bot", "__main__", "asyncio")
"""The loggers whose DEBUG lines are kept: the bot's own, and asyncio's (no payloads there).
Every other package's DEBUG lines are dropped."""
QUIET = ("alembic", "apscheduler", "matplotlib")
"""Libraries that narrate at INFO; they log from WARNING up."""
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")


def scrub(text: str) -> str:
    """``text`` without URL passwords nor the parameters of a failed SQL statement."""
    return _SQL_PARAMETERS.sub("[parameters: hidden]", mask_urls(text))


class TextFormatter(logging.Formatter):
    """The classic line, scrubbed (traceback included)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        ids = dict(current_ids())
        for name in IDS:  # extra={"delivery_id": ...} wins over the context
            value = record.__dict__.get(name)
            if value is not None:
                ids[name] = value
        for name in IDS:
            if name in ids:
                entry[name] = ids[name] if isinstance(ids[name], int) else scrub(str(ids[name]))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)


class LibraryDebug(logging.Filter):
    """Drops the DEBUG lines of libraries: they narrate their traffic there (aiosqlite its
    statements' values, bolt and nio the events members sent), so what members wrote would
    reach the log. The bot's own DEBUG lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        return record.name.split(".")[0] in DEBUG_KEPT


def stream_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler for ``stream`` (stderr) writing ``log_format``, library DEBUG lines left out.
    Python's warnings go through logging too (logger ``py.warnings``): a line like the rest."""
    logging.captureWarnings(True)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(LibraryDebug())
    return handler


def setup_logging(
    level: str | int, log_format: LogFormat = "text", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log line to ``stream`` (stderr) in ``log_format``; returns the handler."""
    handler = stream_handler(log_format, stream)
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
