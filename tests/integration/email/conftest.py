"""Fixtures of the e-mail integration tests: a real Dovecot and a real SMTP server on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # `tests.helpers` importable however pytest was started
    sys.path.insert(0, str(ROOT))

from tests.helpers.dovecot import Dovecot, running_dovecot  # noqa: E402
from tests.helpers.smtp_server import SmtpServer, running_smtp  # noqa: E402


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """Dovecot with users ivan and petr, INBOX and a SPECIAL-USE Sent folder."""
    with running_dovecot({"ivan": "ivanpw", "petr": "petrpw"}) as server:
        yield server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd with STARTTLS and AUTH (user ivan / ivanpw)."""
    with running_smtp() as server:
        yield server
