"""Suppressions and campaign bounces in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.activity import ActivityStore
from hub.activity.repos import ActivityFilter, BounceEvent, BounceKind, BounceOrigin, Reason
from hub.errors import InvalidAddress, NotFound, ValidationError
from hub.model import OPT_OUT_KEY, Address, AddressKind, Channel, Direction, Status, Touch

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def _contact(store: ActivityStore, email: str = "anna@client.ru") -> int:
    return await store.contacts.create(
        "Anna", addresses=[Address(kind=AddressKind.EMAIL, value=email)]
    )


async def _notes(store: ActivityStore, contact_id: int) -> list[dict[str, object]]:
    page = await store.activities.list(ActivityFilter(contact_id=contact_id))
    return [a for a in page.items if a["channel"] == "note"]


async def test_suppress_once_with_a_note_then_lift(store: ActivityStore) -> None:
    contact = await _contact(store)
    first = await store.suppressions.suppress(
        channel=Channel.EMAIL, address=" Anna@Client.RU ", reason=Reason.UNSUBSCRIBED, campaign_id=7
    )
    assert first.created
    made = first.suppression
    assert (made.address, made.contact_id, made.campaign_id, made.active) == (
        "anna@client.ru",
        contact,
        7,
        True,
    )
    again = await store.suppressions.suppress(
        channel=Channel.EMAIL, address="anna@client.ru", reason=Reason.BOUNCED
    )
    assert not again.created and again.suppression.id == made.id
    notes = await _notes(store, contact)
    assert len(notes) == 1 and "campaign #7" in str(notes[0]["subject"])
    assert await store.suppressions.suppressed(Channel.EMAIL, ["anna@client.ru", "x@y.ru"]) == {
        "anna@client.ru"
    }

    lifted = await store.suppressions.lift(made.id, by="admin")
    assert lifted.lifted_by == "admin" and not lifted.active
    assert (await store.suppressions.lift(made.id, by="other")).lifted_by == "admin"
    assert await store.suppressions.suppressed(Channel.EMAIL, ["anna@client.ru"]) == set()
    active, total = await store.suppressions.search(active=True)
    assert (active, total) == ([], 0)
    again = await store.suppressions.suppress(
        channel=Channel.EMAIL, address="anna@client.ru", reason=Reason.MANUAL, by="admin"
    )
    assert again.created and again.suppression.id != made.id
    everything, total = await store.suppressions.search(active=None)
    assert total == 2 and [s.id for s in everything] == [again.suppression.id, made.id]
    found, _ = await store.suppressions.search(address="ANNA@client.ru", active=None)
    assert len(found) == 2


async def test_phone_suppression_is_normalised(store: ActivityStore) -> None:
    made = await store.suppressions.suppress(
        channel=Channel.SMS, address="8 (912) 345-67-89", reason=Reason.OPTED_OUT
    )
    assert made.suppression.address == "+79123456789"
    found, total = await store.suppressions.search(channel=Channel.SMS, address="+7 912 345 67 89")
    assert total == 1 and found[0].id == made.suppression.id
    with pytest.raises(InvalidAddress):
        await store.suppressions.suppress(channel=Channel.SMS, address="abc", reason=Reason.MANUAL)
    with pytest.raises(ValidationError):
        await store.suppressions.suppress(
            channel=Channel.CALL, address="+79123456789", reason=Reason.MANUAL
        )
    with pytest.raises(NotFound):
        await store.suppressions.lift(999_999, by="admin")


def _bounce(kind: BounceKind, key: str = "dsn-1@mx", recipient: int = 3) -> BounceEvent:
    return BounceEvent(
        campaign_id=5,
        recipient_id=recipient,
        channel=Channel.EMAIL,
        address="anna@client.ru",
        kind=kind,
        origin=BounceOrigin.DSN,
        source_key=key,
        status="5.1.1" if kind is BounceKind.HARD else "4.2.2",
        diagnostic="smtp; 550 5.1.1 no such user",
        received_at=AT,
    )


async def test_bounces_once_and_hard_ones_suppress(store: ActivityStore) -> None:
    contact = await _contact(store)
    assert await store.campaign_bounces.record(_bounce(BounceKind.SOFT, "soft-1"))
    assert not await store.campaign_bounces.record(_bounce(BounceKind.SOFT, "soft-1"))
    assert await store.suppressions.suppressed(Channel.EMAIL, ["anna@client.ru"]) == set()
    assert await store.campaign_bounces.record(_bounce(BounceKind.HARD))
    assert not await store.campaign_bounces.record(_bounce(BounceKind.HARD))
    assert await store.campaign_bounces.counts(5) == {"hard": 1, "soft": 1}
    assert len(await store.campaign_bounces.of_campaign(5)) == 2
    found, total = await store.suppressions.search(campaign_id=5)
    assert total == 1
    made = found[0]
    assert (made.reason, made.contact_id, made.created_by) == ("bounced", contact, "bounce:dsn")
    assert made.detail is not None and "5.1.1" in made.detail
    assert len(await _notes(store, contact)) == 1


def _mo(external_id: str, text: str, *, opt_out: bool) -> Touch:
    return Touch(
        source="sms:kannel",
        external_id=external_id,
        channel=Channel.SMS,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=AT,
        counterparts=(Address(kind=AddressKind.PHONE, value="8 916 765-43-21"),),
        preview=text,
        metadata={OPT_OUT_KEY: True} if opt_out else {},
    )


async def test_sms_opt_out_suppresses_the_number(store: ActivityStore) -> None:
    await store.record([_mo("mo-1", "Hello", opt_out=False)])
    assert await store.suppressions.suppressed(Channel.SMS, ["+79167654321"]) == set()
    await store.record([_mo("mo-2", "СТОП", opt_out=True)])
    await store.record([_mo("mo-2", "СТОП", opt_out=True)])  # the gateway delivers it again
    found, total = await store.suppressions.search(channel=Channel.SMS)
    assert total == 1
    made = found[0]
    assert (made.reason, made.address, made.created_by) == ("opted_out", "+79167654321", "sms-opt-out")
    assert made.contact_id is not None  # the lead the SMS made
    await store.suppressions.lift(made.id, by="admin")
    await store.record([_mo("mo-2", "СТОП", opt_out=True)])  # an old MO does not undo the lift
    assert await store.suppressions.suppressed(Channel.SMS, ["+79167654321"]) == set()
    await store.record([_mo("mo-3", "stop", opt_out=True)])  # a new opt-out does
    assert await store.suppressions.suppressed(Channel.SMS, ["+79167654321"]) == {"+79167654321"}
