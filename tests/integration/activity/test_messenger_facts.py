"""The store's two messenger operations: an edit changes its touch (never a second one), and
an identity update links a chat to a contact or marks it unreachable; plus the employee an
outgoing touch names by id. On SQLite and PostgreSQL; the projections stay what a rebuild
makes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub.activity import ActivityStore
from hub.activity.schema import activities, identities
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    IdentityUpdate,
    Status,
    StatusUpdate,
    Touch,
    TouchEdit,
    utcnow,
)
from tests.helpers.projections import assert_projections_equal_a_rebuild

SOURCE = "telegram:main"
T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)


def message(chat: str, n: int, text: str, **extra: Any) -> Touch:
    return Touch(
        source=SOURCE,
        external_id=f"{chat}:{n}",
        channel=Channel.MESSENGER,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=T0,
        counterparts=(Address(kind=AddressKind.TELEGRAM, value=chat, name="Olga"),),
        preview=text,
        metadata={"kind": "text"},
        **extra,
    )


async def rows(store: ActivityStore) -> dict[str, dict[str, Any]]:
    async with store.engine.connect() as conn:
        result = await conn.execute(select(activities).where(activities.c.source == SOURCE))
        return {r["external_id"]: dict(r) for r in result.mappings()}


async def owner(store: ActivityStore, kind: str, value: str) -> int | None:
    async with store.engine.connect() as conn:
        found = await conn.scalar(
            select(identities.c.contact_id).where(identities.c.kind == kind, identities.c.value == value)
        )
    return None if found is None else int(found)


async def test_an_edit_changes_text_and_metadata_and_keeps_status(store: ActivityStore) -> None:
    await store.apply([message("10", 1, "old text")])
    [before] = (await rows(store)).values()
    await store.apply([StatusUpdate(source=SOURCE, external_id="10:1", status=Status.READ, at=T0)])
    edited = message("10", 1, "new text")
    result = await store.apply([TouchEdit(touch=edited, edited_at=T0 + timedelta(minutes=3))])
    assert result.edited == 1 and result.created == 0
    [after] = (await rows(store)).values()
    assert after["id"] == before["id"] and after["preview"] == "new text"
    assert after["status"] == "read"  # an edit does not send a read message back
    assert after["meta"]["edited_at"] == (T0 + timedelta(minutes=3)).isoformat()
    assert after["occurred_at"] == before["occurred_at"]
    # the same edit again changes nothing more
    again = await store.apply([TouchEdit(touch=edited, edited_at=T0 + timedelta(minutes=3))])
    assert again.created == 0
    assert list(await rows(store)) == ["10:1"]
    await assert_projections_equal_a_rebuild(store, "edits")


async def test_an_edit_of_a_message_never_seen_records_it_once(store: ActivityStore) -> None:
    edit = TouchEdit(touch=message("11", 1, "edited"), edited_at=T0)
    first = await store.apply([edit])
    second = await store.apply([edit])
    assert (first.created, second.created) == (1, 0)
    [row] = (await rows(store)).values()
    assert row["preview"] == "edited" and "edited_at" in row["meta"]


async def test_an_original_replayed_after_its_edit_in_one_batch_keeps_the_edit(
    store: ActivityStore,
) -> None:
    original = message("12", 1, "first")
    edit = TouchEdit(touch=message("12", 1, "second"), edited_at=T0)
    await store.apply([edit, original])
    [row] = (await rows(store)).values()
    assert row["preview"] == "second"
    await store.apply([original, edit, original])  # a replay of the whole stream
    [row] = (await rows(store)).values()
    assert row["preview"] == "second"


async def test_a_shared_phone_moves_the_chat_and_its_touches_to_the_contact(
    store: ActivityStore,
) -> None:
    contact = await store.contacts.create(
        "Olga Smirnova", addresses=[Address(kind=AddressKind.PHONE, value="8 916 555-44-33")]
    )
    await store.apply([message("20", 1, "hi"), message("20", 2, "it's me")])
    lead = await owner(store, "telegram", "20")
    assert lead is not None and lead != contact
    link = IdentityUpdate(
        source=SOURCE,
        address=Address(kind=AddressKind.TELEGRAM, value="20"),
        at=T0,
        link_phone=Address(kind=AddressKind.PHONE, value="+7 (916) 555-44-33"),
    )
    result = await store.apply([link])
    assert result.identity_updates == 1
    assert await owner(store, "telegram", "20") == contact
    assert {r["contact_id"] for r in (await rows(store)).values()} == {contact}
    await store.apply([message("20", 3, "later")])
    assert (await rows(store))["20:3"]["contact_id"] == contact
    await assert_projections_equal_a_rebuild(store, "a link by phone")


async def test_a_link_by_contact_id_follows_a_merge_and_ignores_unknown_ids(
    store: ActivityStore,
) -> None:
    kept = await store.contacts.create("Kept")
    gone = await store.contacts.create("Gone")
    await store.contacts.merge(gone, kept)
    chat = Address(kind=AddressKind.TELEGRAM, value="21")
    await store.apply(
        [message("21", 1, "hello"), IdentityUpdate(source=SOURCE, address=chat, at=T0, link_contact_id=gone)]
    )
    assert await owner(store, "telegram", "21") == kept
    await store.apply([IdentityUpdate(source=SOURCE, address=chat, at=T0, link_contact_id=999_999)])
    assert await owner(store, "telegram", "21") == kept


async def test_unreachable_and_reachable_again(store: ActivityStore) -> None:
    chat = Address(kind=AddressKind.TELEGRAM, value="22")
    await store.apply([message("22", 1, "hi")])
    await store.apply(
        [IdentityUpdate(source=SOURCE, address=chat, at=T0, unreachable=True, detail="blocked")]
    )
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(identities).where(identities.c.value == "22"))).mappings().one()
    assert row["bouncing_at"] is not None and row["bounce_detail"] == "blocked"
    await store.apply([IdentityUpdate(source=SOURCE, address=chat, at=T0, unreachable=False)])
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(identities).where(identities.c.value == "22"))).mappings().one()
    assert row["bouncing_at"] is None and row["bounce_detail"] is None


async def test_an_outgoing_touch_names_its_employee_by_id(store: ActivityStore) -> None:
    anna = await store.employees.add("Anna")
    out = Touch(
        source=SOURCE,
        external_id="23:out-1",
        channel=Channel.MESSENGER,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=T0,
        counterparts=(Address(kind=AddressKind.TELEGRAM, value="23"),),
        preview="answer",
        metadata={"employee_id": anna},
    )
    nobody = Touch(
        source=SOURCE,
        external_id="23:out-2",
        channel=Channel.MESSENGER,
        direction=Direction.OUT,
        status=Status.SENT,
        occurred_at=T0,
        counterparts=(Address(kind=AddressKind.TELEGRAM, value="23"),),
        metadata={"employee_id": 987_654},  # no such employee: recorded without one
    )
    await store.apply([out, nobody])
    found = await rows(store)
    assert found["23:out-1"]["employee_id"] == anna
    assert found["23:out-2"]["employee_id"] is None
    await assert_projections_equal_a_rebuild(store, "an employee by id")
