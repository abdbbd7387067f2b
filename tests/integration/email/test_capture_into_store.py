"""Letters from real Dovecot into the real store: once, linked to the right people."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.channels.email.factory import build_capture
from hub.model import Address, AddressKind, Channel
from tests.helpers import mail_samples as S
from tests.helpers.dovecot import Dovecot
from tests.integration.email.support import put, settings_for, sync

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ActivityStore]:
    opened = await ActivityStore.open(f"sqlite:///{tmp_path}/mail.db")
    for user in ("ivan", "petr"):
        await opened.employees.add(
            user.title(), addresses=[Address(kind=AddressKind.EMAIL, value=f"{user}@acme.ru")]
        )
    yield opened
    await opened.close()


async def letters(store: ActivityStore) -> dict[str, dict[str, object]]:
    page = await store.activities.list(ActivityFilter(channel=Channel.EMAIL), limit=500)
    return {str(a["external_id"]): a for a in page.items}


async def capture_all(
    dovecot: Dovecot, store: ActivityStore, accounts: tuple[str, ...] = ("ivan", "petr")
) -> None:
    settings = settings_for(dovecot)
    async with store.writer() as writer:
        for account in accounts:
            await sync(build_capture(settings, account), writer)


async def test_one_activity_per_letter_across_mailboxes_linked_to_employee_and_every_client(
    dovecot: Dovecot, store: ActivityStore
) -> None:
    to_both = S.simple(to=f"{S.IVAN}, {S.PETR}", message_id="<both@example.com>")
    out = S.outgoing(message_id="<out9@acme.ru>", to=f"{S.CLIENT}, {S.CLIENT2}", cc=S.PETR)
    await put(dovecot, "ivan", [to_both])
    await put(dovecot, "petr", [to_both, out])
    await put(dovecot, "ivan", [out], "Sent")
    await put(
        dovecot,
        "ivan",
        [S.legacy(cs, message_id=f"<{cs}@example.com>") for cs in ("koi8-r", "cp1251")],
    )
    await capture_all(dovecot, store)
    await capture_all(dovecot, store)  # a second full pass changes nothing
    found = await letters(store)
    assert found["both@example.com"]["direction"] == "in"
    assert found["out9@acme.ru"]["direction"] == "out"
    assert sorted(found) == [
        "both@example.com",
        "cp1251@example.com",
        "koi8-r@example.com",
        "out9@acme.ru",
    ]
    assert {found[f"{cs}@example.com"]["subject"] for cs in ("koi8-r", "cp1251")} == {
        "Счёт на оплату"
    }
    ivan = await store.employees.resolve("ivan@acme.ru")
    assert (
        found["out9@acme.ru"]["employee_id"] == ivan and found["out9@acme.ru"]["is_client"] is True
    )
    for client in (S.CLIENT, S.CLIENT2):
        (contact,) = await store.contacts.search(client)
        timeline = await store.activities.list(ActivityFilter(contact_id=contact["id"]))
        assert "out9@acme.ru" in [a["external_id"] for a in timeline.items]
    assert await store.quarantined() == []


async def test_bounce_marks_the_stored_letter_and_suppresses_the_address(
    dovecot: Dovecot, store: ActivityStore
) -> None:
    await put(dovecot, "ivan", [S.outgoing()], "Sent")
    await put(dovecot, "ivan", [S.dsn()])
    await capture_all(dovecot, store, ("ivan",))
    found = await letters(store)
    assert found["out1@acme.ru"]["status"] == "bounced"
    (contact,) = await store.contacts.search(S.CLIENT)
    assert "bouncing_since" in contact["identities"][0]
    assert found["dsn1@mx.acme.ru"]["is_client"] is False


async def test_uidvalidity_change_creates_no_duplicate_activities(
    dovecot: Dovecot, store: ActivityStore
) -> None:
    await put(dovecot, "ivan", [S.numbered(i) for i in range(5)] + [S.simple(message_id=None)])
    await capture_all(dovecot, store, ("ivan",))
    before = await letters(store)
    await asyncio.to_thread(dovecot.change_uidvalidity, "ivan", "INBOX")
    await capture_all(dovecot, store, ("ivan",))
    after = await letters(store)
    assert after.keys() == before.keys() and len(after) == 6
