"""Identity resolution as the store does it for a batch, on SQLite and PostgreSQL: known
addresses find their employee or contact, unknown ones become one lead each, whatever the
batch size and however many writers race for the same new address."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hub.activity import ActivityFilter, ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch, utcnow

NOW = utcnow().replace(microsecond=0)
#: More distinct addresses than one lookup statement takes (the store asks in chunks).
MANY = 2_100


def phone(value: str, name: str | None = None) -> Address:
    return Address(kind=AddressKind.PHONE, value=value, name=name)


def number(n: int) -> str:
    return f"+7916{n:07d}"


def call(external_id: str, *counterparts: Address, extension: str | None = None) -> Touch:
    return Touch(
        source="test:resolve",
        external_id=external_id,
        channel=Channel.CALL,
        direction=Direction.IN,
        status=Status.ANSWERED,
        occurred_at=NOW - timedelta(minutes=1),
        counterparts=counterparts,
        employee=Address(kind=AddressKind.EXTENSION, value=extension) if extension else None,
    )


async def all_calls(store: ActivityStore) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    cursor: str | None = None
    while True:
        page = await store.activities.list(ActivityFilter(), limit=500, cursor=cursor)
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return rows


async def test_a_batch_bigger_than_one_lookup_gives_every_address_its_own_lead_once(
    store: ActivityStore,
) -> None:
    await store.record([call(f"a{n}", phone(number(n))) for n in range(MANY)])
    assert await store.contacts.count() == MANY
    first = {row["counterpart"]: row["contact_id"] for row in await all_calls(store)}
    assert len(set(first.values())) == MANY

    # the same addresses again, written another way: all found, none created
    await store.record([call(f"b{n}", phone("8 916 " + number(n)[5:])) for n in range(MANY)])
    assert await store.contacts.count() == MANY
    again = [row for row in await all_calls(store) if str(row["external_id"]).startswith("b")]
    assert len(again) == MANY
    assert all(first[row["counterpart"]] == row["contact_id"] for row in again)


async def test_one_new_address_in_many_touches_of_a_batch_is_one_lead(
    store: ActivityStore,
) -> None:
    await store.record([call(f"c{n}", phone("+7 495 765-43-21", "Anna")) for n in range(5)])
    (lead,) = await store.contacts.search("+74957654321")
    assert lead["is_lead"] is True and lead["name"] == "Anna"
    assert {row["contact_id"] for row in await all_calls(store)} == {lead["id"]}


async def test_a_lead_without_a_name_is_named_by_its_address(store: ActivityStore) -> None:
    await store.record([call("d1", phone("8 495 765 43 21"))])
    (lead,) = await store.contacts.search("+74957654321")
    assert lead["name"] == "+74957654321"


async def test_a_known_contact_is_linked_and_no_lead_is_made(store: ActivityStore) -> None:
    known = await store.contacts.create("Acme desk", addresses=[phone("+74951112233")])
    await store.record([call("e1", phone("8 (495) 111-22-33"), phone(number(1)))])
    (row,) = await all_calls(store)
    assert row["contact_id"] == known
    assert await store.contacts.count() == 2  # Acme desk and the lead for the other number


async def test_the_employee_is_found_by_extension_and_is_never_a_contact(
    store: ActivityStore,
) -> None:
    ivan = await store.employees.add(
        "Ivan", addresses=[Address(kind=AddressKind.EXTENSION, value="101")]
    )
    await store.record([call("f1", phone(number(7)), extension="101")])
    await store.record([call("f2", phone(number(8)), extension="999")])  # nobody's extension
    rows = {row["external_id"]: row for row in await all_calls(store)}
    assert rows["f1"]["employee_id"] == ivan
    assert rows["f2"]["employee_id"] is None
    assert await store.contacts.count() == 2  # one lead per client number, none for 101/999


async def test_writers_racing_for_the_same_new_addresses_share_one_contact_each(
    store: ActivityStore, store_url: str
) -> None:
    other = await ActivityStore.open(store_url)  # a second process's store on the same data
    try:
        shared = [phone(number(n)) for n in range(50)]
        mine = [call(f"g{n}", address) for n, address in enumerate(shared)]
        theirs = [call(f"h{n}", address) for n, address in enumerate(reversed(shared))]
        await asyncio.gather(store.record(mine), other.record(theirs))
    finally:
        await other.close()
    by_number: dict[object, set[object]] = {}
    for row in await all_calls(store):
        by_number.setdefault(row["counterpart"], set()).add(row["contact_id"])
    assert len(by_number) == len(shared)
    assert all(len(ids) == 1 for ids in by_number.values())
    # the loser's leads for the addresses it lost are gone, not left without an identity
    assert await store.contacts.count() == len(shared)
