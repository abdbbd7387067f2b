"""Letters to several people: one bounced recipient marks that recipient, not the letter,
and a reply to the thread's client plus a newcomer stays the client's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.activity import ActivityFilter, ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, StatusUpdate, Touch

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def letter(message_id: str, *recipients: str) -> Touch:
    return Touch(
        source="imap",
        external_id=message_id,
        channel=Channel.EMAIL,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=T0,
        counterparts=tuple(Address(kind=AddressKind.EMAIL, value=r) for r in recipients),
        subject="Offer",
        metadata={"to": [f"Client <{recipients[0]}>"], "cc": list(recipients[1:])},
    )


def bounce(message_id: str, address: str, minutes: int = 5) -> StatusUpdate:
    return StatusUpdate(
        source="imap",
        external_id=message_id,
        status=Status.BOUNCED,
        at=T0 + timedelta(minutes=minutes),
        detail="5.1.1 user unknown",
        address=Address(kind=AddressKind.EMAIL, value=address),
    )


async def _row(store: ActivityStore, message_id: str) -> dict[str, object]:
    page = await store.activities.list(ActivityFilter())
    (found,) = [r for r in page.items if r["external_id"] == message_id]
    return await store.activities.get(int(found["id"]))


async def test_one_of_two_recipients_bouncing_keeps_the_letter_sent(store: ActivityStore) -> None:
    await store.apply([letter("m1@acme.ru", "client@corp.ru", "Second@Other.ru")])
    await store.apply([bounce("m1@acme.ru", "second@other.ru")])
    row = await _row(store, "m1@acme.ru")
    assert row["status"] == "sent"
    assert row["meta"]["bounced_to"] == ["second@other.ru"]  # type: ignore[index]
    assert [h["status"] for h in row["status_history"]] == ["bounced"]  # type: ignore[union-attr]
    (second,) = await store.contacts.search("second@other.ru")
    assert "bouncing_since" in second["identities"][0]
    (client,) = await store.contacts.search("client@corp.ru")
    assert "bouncing_since" not in client["identities"][0]
    # the last recipient bouncing too: now nobody got it
    await store.apply([bounce("m1@acme.ru", "CLIENT@corp.ru", minutes=6)])
    row = await _row(store, "m1@acme.ru")
    assert row["status"] == "bounced"
    assert row["meta"]["bounced_to"] == ["client@corp.ru", "second@other.ru"]  # type: ignore[index]


async def test_a_letter_to_one_recipient_bounces_whole(store: ActivityStore) -> None:
    await store.apply([letter("m2@acme.ru", "client@corp.ru")])
    await store.apply([bounce("m2@acme.ru", "client@corp.ru")])
    assert (await _row(store, "m2@acme.ru"))["status"] == "bounced"


async def test_a_reply_to_the_client_and_a_newcomer_stays_the_clients(
    store: ActivityStore,
) -> None:
    first = Touch(
        source="imap",
        external_id="q1@corp.ru",
        channel=Channel.EMAIL,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=T0,
        counterparts=(Address(kind=AddressKind.EMAIL, value="client@corp.ru"),),
        subject="Question",
        thread_key="q1@corp.ru",
    )
    await store.apply([first])
    (client,) = await store.contacts.search("client@corp.ru")
    reply = Touch(
        source="imap",
        external_id="r1@acme.ru",
        channel=Channel.EMAIL,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=T0 + timedelta(hours=1),
        counterparts=(
            Address(kind=AddressKind.EMAIL, value="colleague@corp.ru"),
            Address(kind=AddressKind.EMAIL, value="client@corp.ru"),
        ),
        subject="Re: Question",
        thread_key="q1@corp.ru",
        metadata={"to": ["colleague@corp.ru", "client@corp.ru"]},
    )
    for _ in range(2):  # recording it again changes nothing
        await store.apply([reply])
        row = await _row(store, "r1@acme.ru")
        assert row["contact_id"] == client["id"]
    (newcomer,) = await store.contacts.search("colleague@corp.ru")
    timeline = await store.activities.list(ActivityFilter(contact_id=newcomer["id"]))
    assert [a["external_id"] for a in timeline.items] == ["r1@acme.ru"]
