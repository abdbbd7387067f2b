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
        ("password: qwerty123", "qwerty123"),
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
