"""A merge undone gives back the same contacts, identities, activities and KPI roll-ups.

Everything goes through the real store on each backend; the roll-ups and the client-base
state after merge → undo must equal what was there before and what a rebuild computes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.activity import ActivityStore
from hub.activity.schema import activities, activity_participants, contacts, identities
from hub.errors import Conflict, NotFound
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch
from tests.helpers.projections import projected_rows

NOW = datetime.now(UTC).replace(microsecond=0)


def _phone(i: int) -> Address:
    return Address(kind=AddressKind.PHONE, value=f"+7916{i:07d}")


def _mail(i: int) -> Address:
    return Address(kind=AddressKind.EMAIL, value=f"client{i}@example.ru")


async def _world(store: ActivityStore) -> dict[str, int]:
    """Two owners, four clients (a and its duplicate b, c, d) with calls, letters, a task."""
    anna = await store.employees.add(
        "Anna", addresses=[Address(kind=AddressKind.EXTENSION, value="101")]
    )
    boris = await store.employees.add(
        "Boris", addresses=[Address(kind=AddressKind.EXTENSION, value="102")]
    )
    ids = {
        "a": await store.contacts.create(
            "Ivan Petrov", addresses=[_phone(1)], owner_employee_id=anna, custom={"vip": True}
        ),
        "b": await store.contacts.create(
            "I. Petrov",
            addresses=[_phone(2), _mail(2)],
            city="Tver",
            organization="Acme",
            owner_employee_id=boris,
            custom={"source": "expo", "vip": False},
        ),
        "c": await store.contacts.create("Petrov (old)", addresses=[_mail(3)]),
        "d": await store.contacts.create("Someone else", addresses=[_phone(4)]),
        "anna": anna,
        "boris": boris,
    }
    touches = []
    for n in range(24):
        who = "101" if n % 3 else "102"
        counterpart = [_phone(1), _phone(2), _mail(2), _mail(3), _phone(4)][n % 5]
        channel = Channel.EMAIL if counterpart.kind is AddressKind.EMAIL else Channel.CALL
        touches.append(
            Touch(
                source="test",
                external_id=f"t{n}",
                channel=channel,
                direction=Direction.IN if n % 2 else Direction.OUT,
                status=(
                    Status.SENT
                    if channel is Channel.EMAIL
                    else [Status.ANSWERED, Status.MISSED][n % 2]
                ),
                occurred_at=NOW - timedelta(days=n * 3, hours=n),
                talk_seconds=30.0 if n % 2 == 0 else None,
                counterparts=(counterpart,),
                employee=Address(kind=AddressKind.EXTENSION, value=who),
            )
        )
    # one letter to both duplicates at once: a participant the target already has
    touches.append(
        Touch(
            source="test",
            external_id="both",
            channel=Channel.EMAIL,
            direction=Direction.OUT,
            status=Status.SENT,
            occurred_at=NOW - timedelta(days=1),
            counterparts=(_mail(2), _phone(1), _mail(3)),
            employee=Address(kind=AddressKind.EXTENSION, value="101"),
        )
    )
    await store.record(touches)
    await store.activities.add_interaction(
        channel=Channel.TASK,
        employee_id=boris,
        contact_id=ids["b"],
        subject="call back",
        due_at=NOW - timedelta(days=2),
    )
    return ids


async def _state(store: ActivityStore) -> dict[str, Any]:
    """Contacts (but when they changed), identities, activities' contacts, participants."""
    async with store.engine.connect() as conn:
        people = {
            r["id"]: {k: v for k, v in r.items() if k != "updated_at"}
            for r in (await conn.execute(select(contacts))).mappings()
        }
        return {
            "contacts": people,
            "identities": sorted(
                tuple(r)
                for r in await conn.execute(
                    select(identities.c.id, identities.c.contact_id, identities.c.value)
                )
            ),
            "activities": sorted(
                tuple(r)
                for r in await conn.execute(select(activities.c.id, activities.c.contact_id))
            ),
            "participants": sorted(
                tuple(r) for r in await conn.execute(select(activity_participants))
            ),
        }


async def _kept(store: ActivityStore) -> dict[str, list[Any]]:
    """The projections' tables, comparable (see `tests.helpers.projections`)."""
    return await projected_rows(store.engine)


async def _rebuilt(store: ActivityStore) -> dict[str, list[Any]]:
    async with store.engine.begin() as conn:
        await store.projections.rebuild(conn)
    return await projected_rows(store.engine)


async def test_merge_then_undo_gives_everything_back(store: ActivityStore) -> None:
    ids = await _world(store)
    before, kept_before = await _state(store), await _kept(store)
    assert kept_before["kpi_daily"] and kept_before["kpi_client_state"]

    merged = await store.contacts.merge(ids["b"], ids["a"], by="head")
    assert merged.merge_id is not None
    assert merged.activities_moved > 0 and merged.identities_moved == 2
    after_merge = await _state(store)
    assert after_merge != before
    assert after_merge["contacts"][ids["a"]]["city"] == "Tver"
    assert await _kept(store) != kept_before, "the merge changed no roll-up"

    record = await store.contacts.merge_record(merged.merge_id)
    assert (record.source_id, record.target_id) == (ids["b"], ids["a"])
    assert record.source_owner_id == ids["boris"] and record.merged_by == "head"
    assert record.undone_at is None and record.undoable

    undone = await store.contacts.unmerge(merged.merge_id, by="admin")
    assert undone.identities_restored == 2
    assert undone.activities_restored == merged.activities_moved
    assert undone.fields_restored == sorted(merged.fields_filled)
    assert await _state(store) == before
    kept = await _kept(store)
    assert kept == kept_before
    assert await _rebuilt(store) == kept
    assert (await store.contacts.merge_record(merged.merge_id)).undone_at is not None

    with pytest.raises(Conflict, match="already undone"):
        await store.contacts.unmerge(merged.merge_id)
    with pytest.raises(NotFound):
        await store.contacts.unmerge(424242)


async def test_chained_merges_undo_last_first(store: ActivityStore) -> None:
    ids = await _world(store)
    before, kept_before = await _state(store), await _kept(store)
    first = await store.contacts.merge(ids["c"], ids["b"])
    second = await store.contacts.merge(ids["b"], ids["a"])
    assert first.merge_id is not None and second.merge_id is not None
    # c now leads to a; undoing c → b first would leave b merged away
    with pytest.raises(Conflict, match="undo the later merge first"):
        await store.contacts.unmerge(first.merge_id)
    await store.contacts.unmerge(second.merge_id)
    await store.contacts.unmerge(first.merge_id)
    assert await _state(store) == before
    assert await _kept(store) == kept_before
    assert await _rebuilt(store) == kept_before


async def test_undo_keeps_what_changed_after_the_merge(store: ActivityStore) -> None:
    ids = await _world(store)
    merged = await store.contacts.merge(ids["b"], ids["a"])
    assert "city" in merged.fields_filled and "organization_id" in merged.fields_filled
    await store.contacts.update(ids["a"], city="Kazan")
    assert merged.merge_id is not None
    undone = await store.contacts.unmerge(merged.merge_id)
    assert "city" not in undone.fields_restored and "organization_id" in undone.fields_restored
    target = await store.contacts.get(ids["a"])
    assert target["city"] == "Kazan" and target["organization_id"] is None
    assert target["custom"] == {"vip": True}
    source = await store.contacts.get(ids["b"])
    assert source["id"] == ids["b"] and source["merged_into_id"] is None
    assert {i["value"] for i in source["identities"]} == {"+79160000002", "client2@example.ru"}
    assert await _kept(store) == await _rebuilt(store)
