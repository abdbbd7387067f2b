"""Several contacts read at once (`get_many`, `search`) show what `get` shows for each."""

from __future__ import annotations

from hub.activity import ActivityStore
from hub.model import Address, AddressKind


def phone(number: str) -> Address:
    return Address(kind=AddressKind.PHONE, value=number)


async def test_get_many_keeps_order_follows_merges_and_leaves_out_the_missing(
    store: ActivityStore,
) -> None:
    a = await store.contacts.create("Anna", addresses=[phone("+74950000001")], organization="Acme")
    b = await store.contacts.create("Boris", addresses=[phone("+74950000002")])
    c = await store.contacts.create("Clara", addresses=[phone("+74950000003")])
    await store.contacts.merge(b, c)
    await store.contacts.merge(c, a)  # b → c → a
    found = await store.contacts.get_many([c, 999_999, a, b])
    assert [row["id"] for row in found] == [a, a, a]
    assert found[0] == await store.contacts.get(b)
    assert {i["value"] for i in found[0]["identities"]} == {
        "+74950000001",
        "+74950000002",
        "+74950000003",
    }
    assert found[0]["organization"] == "Acme"
    assert await store.contacts.get_many([]) == []


async def test_a_search_page_shows_each_contact_as_get_does(store: ActivityStore) -> None:
    ids = [
        await store.contacts.create(
            f"Client {i}",
            addresses=[
                phone(f"+7495111000{i}"),
                Address(kind=AddressKind.EMAIL, value=f"c{i}@x.ru"),
            ],
            organization=f"Org {i % 2}",
        )
        for i in range(4)
    ]
    await store.contacts.merge(ids[3], ids[0])
    page = await store.contacts.search("client")
    assert [row["id"] for row in page] == ids[:3]
    assert page == [await store.contacts.get(i) for i in ids[:3]]
    with_merged = await store.contacts.search("client", include_merged=True)
    assert [row["id"] for row in with_merged] == [*ids[:3], ids[0]]
