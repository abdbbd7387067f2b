"""Structured logging: plain text or one JSON object per line, with secrets masked.

A filter scrubs anything that looks like a password in a URL, an AUTH exchange or a
bearer token from every record, so a careless log line cannot leak a secret.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from hub.config import LoggingSettings
from hub.urls import mask_bot_token

_SECRETS = [
    (re.compile(r"(?i)(authorization\s*[:=]\s*)[^\r\n'\"\\]+"), r"\1***"),
    (re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)((?:password|secret|token|passwd)\s*[=:]\s*)[^\s,;&]+"), r"\1***"),
    (re.compile(r"\bth_[\w-]{8,}"), "th_***"),
]
_EXTRA_SKIP = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def scrub(text: str) -> str:
    """Mask passwords in URLs, bearer tokens, key=value secrets and Telegram bot tokens."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return mask_bot_token(text)


class SecretFilter(logging.Filter):
    """Rewrites each record's message with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class ScrubbingFormatter(logging.Formatter):
    """Plain text with secrets masked in the whole line, tracebacks included.

    The filter only sees the message; an exception's text (a parser error quoting
    the header it choked on, say) is added by the formatter, so it is scrubbed here.
    """

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra context."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _EXTRA_SKIP and not key.startswith("_"):
                data[key] = (
                    value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
                )
        if record.exc_info:
            data["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def setup_logging(settings: LoggingSettings, *, quiet: bool = False) -> None:
    """Configure the root logger once; `quiet` keeps CLI commands to warnings."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_touchhub", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._touchhub = True  # type: ignore[attr-defined]
    handler.addFilter(SecretFilter())
    if settings.json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    level = (
        logging.WARNING if quiet and settings.level.upper() == "INFO" else settings.level.upper()
    )
    root.setLevel(level)
    for noisy in (
        "aiosqlite",
        "asyncio",
        "alembic.runtime",  # each migration step, and (alembic 1.16+) each plugin it sets up
        "aioimaplib",
        "aiohttp.access",
        "apscheduler",  # logs every run of every job (a 5-second tick) at INFO
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
