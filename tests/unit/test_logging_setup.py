"""Secrets never reach the logs; JSON logging prints one object per line."""

from __future__ import annotations

import json
import logging

import pytest

from hub.config import LoggingSettings, load_settings
from hub.logging_setup import scrub, setup_logging
from hub.urls import mask_url


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("connecting to postgresql://touchhub:Pa55word@db:5432/x", "Pa55word"),
        ("imaps://sales%40acme.ru:hunter2@imap.acme.ru:993", "hunter2"),
        (
            "Authorization: Bearer th_abcdefghijklmnopqrstuvwxyz0123",
            "th_abcdefghijklmnopqrstuvwxyz0123",
        ),
        ("login failed: secret=s3cret user=hub", "s3cret"),
        ("b'Authorization: Basic dXNlcjpwYXNzd29yZA==...'", "dXNlcjpwYXNzd29yZA"),
        ("b'authorization:th_prefixOnly'", "th_prefixOnly"),
        ("header too long: Bearer th_abcdefgh", "th_abcdefgh"),
        ("password: qwerty123", "qwerty123"),
        (
            "aiohttp.InvalidURL: https://api.telegram.org/bot123456:AAH-x_yZ09/getUpdates?limit=100",
            "AAH-x_yZ09",
        ),
        ("GET http://127.0.0.1:8081/file/bot42:Tok_en-1/voice/1.oga", "Tok_en-1"),
    ],
)
def test_scrub_masks_secrets(text: str, secret: str) -> None:
    assert secret not in scrub(text)


def test_log_records_are_scrubbed_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(LoggingSettings.model_validate({"level": "INFO", "json": True}))
    logging.getLogger("hub.test").warning(
        "store at %s", "postgresql://u:topsecret@h/db", extra={"channel": "ami"}
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["level"] == "warning" and record["channel"] == "ami"
    assert "topsecret" not in line and "***" in record["message"]
    setup_logging(LoggingSettings())


def test_secret_settings_do_not_print(tmp_path: pytest.TempPathFactory) -> None:
    settings = load_settings(None, db_url="postgresql://u:pw-in-url@127.0.0.1/db", environ={})
    assert "pw-in-url" not in repr(settings) and "pw-in-url" not in str(settings.store)
    assert mask_url(settings.store_url) == "postgresql://u:***@127.0.0.1/db"


def test_a_traceback_quoting_a_token_is_scrubbed_in_plain_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The text of an exception is added by the formatter, after any filter ran."""
    setup_logging(LoggingSettings())
    try:
        raise ValueError("b'Authorization: Bearer th_SECRETSECRETSECRET...'")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    err = capsys.readouterr().err
    assert "Error handling request" in err and "ValueError" in err
    assert "SECRETSECRET" not in err


def test_library_chatter_is_kept_below_info() -> None:
    """A first start printed seven lines of alembic's plug-in set-up (alembic 1.16+), twice;
    the hub's own INFO lines still show."""
    setup_logging(LoggingSettings.model_validate({"level": "INFO"}))
    for chatty in ("alembic.runtime.plugins", "alembic.runtime.migration", "apscheduler.scheduler"):
        assert not logging.getLogger(chatty).isEnabledFor(logging.INFO), chatty
    assert logging.getLogger("hub.runtime").isEnabledFor(logging.INFO)
    setup_logging(LoggingSettings())
