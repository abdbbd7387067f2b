"""Fixtures of the e-mail integration tests: a real SMTP server on loopback.

Dovecot (`dovecot`, `dovecot_server`) comes from tests/conftest.py: one server per session,
fresh mailboxes per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.smtp_server import SmtpServer, running_smtp


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd with STARTTLS and AUTH (user ivan / ivanpw)."""
    with running_smtp() as server:
        yield server
