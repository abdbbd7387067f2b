"""What the e-mail integration tests share: account settings on the test Dovecot, putting mail in."""

from __future__ import annotations

import asyncio

from hub.channels.email.imap_capture import ImapCapture
from hub.channels.email.settings import AccountSettings, EmailSettings
from hub.model import Sink
from tests.helpers.dovecot import Dovecot

#: Every await in these tests is bounded by this.
STEP_S = 20.0


def settings_for(dovecot: Dovecot, **overrides: object) -> EmailSettings:
    """Accounts ivan and petr on the test Dovecot; company domain acme.ru."""
    accounts = {
        user: AccountSettings(
            imap=dovecot.url(user),
            password=dovecot.users[user],  # type: ignore[arg-type]
            addresses=[f"{user}@acme.ru"],
            bounce_address="bounces@acme.ru",
        )
        for user in dovecot.users
    }
    values: dict[str, object] = {
        "company_domains": ["acme.ru"],
        "accounts": accounts,
        "horizon_days": 90,
        "poll_interval_s": 1.0,
        "timeout_s": 5.0,
        "reconnect_initial_s": 0.2,
        "reconnect_max_s": 1.0,
    }
    values.update(overrides)
    return EmailSettings.model_validate(values)


async def sync(capture: ImapCapture, sink: Sink) -> None:
    await asyncio.wait_for(capture.sync_once(sink), STEP_S)


async def put(dovecot: Dovecot, user: str, letters: list[bytes], folder: str = "INBOX") -> None:
    await asyncio.wait_for(asyncio.to_thread(dovecot.append, user, letters, folder), STEP_S)
