"""The e-mail channel through the real CLI and store: kill -9 mid-sync, `touchhub email send`."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.helpers import mail_samples as S
from tests.helpers.cli import Touchhub
from tests.helpers.dovecot import Dovecot
from tests.helpers.smtp_server import SmtpServer

pytestmark = pytest.mark.timeout(150)

LETTERS = 2000
KILL_AFTER = 300  # letters committed before the kill
RUN_TIMEOUT_S = 90.0


def write_config(
    path: Path, dovecot: Dovecot | None = None, smtp: SmtpServer | None = None
) -> Path:
    """A touchhub.toml with a SQLite store and account ivan."""
    lines = [
        "demo_on_empty = false",
        "[store]",
        f'url = "sqlite:///{path}/touchhub.db"',
        "batch_size = 200",
        "[email]",
        'company_domains = ["acme.ru"]',
        "fetch_batch = 50",
        "[email.accounts.ivan]",
        'password = "env:TOUCHHUB_TEST_IVAN_PW"',
        'addresses = ["ivan@acme.ru"]',
    ]
    if dovecot is not None:
        lines.append(f'imap = "{dovecot.url("ivan")}"')
    if smtp is not None:
        lines += [f'smtp = "{smtp.url()}"', f'tls_ca_file = "{smtp.cert}"']
    config = path / "touchhub.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def touchhub(config: Path) -> Touchhub:
    """The CLI with `config` and ivan's password where the config says to find it."""
    return Touchhub(config=config, env={"TOUCHHUB_TEST_IVAN_PW": "ivanpw"})


def email_rows(db: Path) -> tuple[int, int]:
    """(activities, distinct external ids) with source email; 0 while the schema is missing."""
    if not db.exists():
        return 0, 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT external_id) FROM activities WHERE source='email'"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0, 0
    return int(row[0]), int(row[1])


def test_kill_9_in_the_middle_of_a_first_sync_then_restart_every_letter_once(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    dovecot.preload("ivan", (S.numbered(i) for i in range(LETTERS)))
    hub = touchhub(write_config(tmp_path, dovecot=dovecot))
    db = tmp_path / "touchhub.db"

    first = hub.start("sync", "--once")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while email_rows(db)[0] < KILL_AFTER:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline, "the first sync made no progress"
            time.sleep(0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    interrupted, _ = email_rows(db)
    assert KILL_AFTER <= interrupted < LETTERS, "the kill should land in the middle"

    second = hub.run_process("sync", timeout=RUN_TIMEOUT_S)  # --once is what sync does; not needed
    assert second.exit_code == 0, second.output
    assert email_rows(db) == (LETTERS, LETTERS)


def test_email_send_prints_results_and_records_the_touch(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.handler.rcpt_script["nobody@example.com"] = ["550 5.1.1 User unknown"]
    hub = touchhub(write_config(tmp_path, smtp=smtp_server))
    body = tmp_path / "body.txt"
    body.write_text("Добрый день! Счёт во вложении.", encoding="utf-8")
    result = hub.run_process(
        *("email", "send", "--from", "ivan", "--to", S.CLIENT, "--to", "nobody@example.com"),
        *("--subject", "Счёт", "--body-file", str(body)),
        timeout=RUN_TIMEOUT_S,
    )
    assert result.exit_code == 0, result.output
    assert f"{S.CLIENT}: sent 250" in result.stdout
    assert "nobody@example.com: permanent_failure 550 5.1.1 User unknown" in result.stdout
    assert email_rows(tmp_path / "touchhub.db") == (1, 1)
    assert len(smtp_server.handler.received) == 1
    # In Russian (a refused recipient only: nothing is sent, the exit code says so)
    russian = hub.run_process(
        *("--lang", "ru", "email", "send", "--from", "ivan", "--to", "nobody@example.com"),
        *("--subject", "Счёт", "--body-file", str(body)),
        timeout=RUN_TIMEOUT_S,
    )
    assert "nobody@example.com: ошибка 550 5.1.1 User unknown" in russian.stdout
    assert "попыток: 1" in russian.stdout and russian.exit_code == 1

