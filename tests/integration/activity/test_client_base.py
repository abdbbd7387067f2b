"""The projections agree with a rebuild and the client-base deltas with a scan, whatever the writes.

Contacts, owners, identities, merges, touches (with the callback tasks they raise and
close), status updates and interactions go through the real store; after every write
path every projection (KPI roll-ups, client base) must equal a rebuild from scratch, and
the maintained client-base counts equal the scanning queries as of many days.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from hub.activity import ActivityStore
from hub.activity.rollups import client_base, client_state
from hub.activity.rollups.projections import Changes
from hub.activity.rollups.tables import (
    kpi_client_base_meta,
    kpi_client_state,
    kpi_owner_day,
    kpi_owner_month,
)
from hub.activity.schema import contacts, identities
from hub.model import Address, AddressKind, Channel, Direction, Status, StatusUpdate, Touch
from kpi import queries
from kpi.periods import local_midnight
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer
from tests.helpers.projections import assert_projections_equal_a_rebuild

NOW = datetime.now(UTC)
QUALITY_FIELDS = (["city", "email", "phone"], ["name", "organization", "telegram"])


def _phone(i: int) -> str:
    return f"+7916{i:07d}"


Check = Callable[[str], Awaitable[None]]


async def _nothing(after: str) -> None:
    return None


async def _world(store: ActivityStore, rnd: random.Random, check: Check = _nothing) -> list[int]:
    """Three owners, eighteen clients created over the last 200 days, random touches,
    status updates and interactions; `check` runs after each write path."""
    emps = [
        await store.employees.add(
            f"E{i}", addresses=[Address(kind=AddressKind.EXTENSION, value=str(100 + i))]
        )
        for i in range(3)
    ]
    ids = []
    for i in range(18):
        addresses = [Address(kind=AddressKind.PHONE, value=_phone(i))]
        if rnd.random() < 0.5:
            addresses.append(Address(kind=AddressKind.EMAIL, value=f"c{i}@example.ru"))
        ids.append(
            await store.contacts.create(
                f"Client {i}",
                addresses=addresses,
                city=rnd.choice([None, "Kazan"]),
                organization=rnd.choice([None, "Acme"]),
                owner_employee_id=rnd.choice([None, *emps]),
            )
        )
    # as if imported from an older system: created over the last 200 days
    async with store.engine.begin() as conn:
        for cid in ids:
            created = NOW - timedelta(days=rnd.uniform(5, 200))
            await conn.execute(
                update(contacts).where(contacts.c.id == cid).values(created_at=created)
            )
            await conn.execute(
                update(identities)
                .where(identities.c.contact_id == cid)
                .values(created_at=created + timedelta(days=rnd.uniform(-3, 60)))
            )
        await store.projections.apply(conn, Changes(contacts=frozenset(ids)))
    touches = []
    for n in range(160):
        i = rnd.randrange(len(ids))
        touches.append(
            Touch(
                source="test",
                external_id=f"t{n}",
                channel=rnd.choice([Channel.CALL, Channel.EMAIL, Channel.TASK]),
                direction=rnd.choice([Direction.IN, Direction.OUT]),
                status=rnd.choice([Status.ANSWERED, Status.MISSED, Status.PLANNED, Status.SENT]),
                occurred_at=NOW - timedelta(days=rnd.uniform(0, 210)),
                counterparts=(Address(kind=AddressKind.PHONE, value=_phone(i)),),
                employee=Address(kind=AddressKind.EXTENSION, value=str(100 + rnd.randrange(3))),
            )
        )
    await check("contact create")
    for start in range(0, len(touches), 40):  # several transactions, out of time order
        await store.record(touches[start : start + 40])
    await check("touch batches")
    # replays: missed calls answered after all (callback tasks close), statuses change
    replays = [
        Touch(
            source=t.source,
            external_id=t.external_id,
            channel=t.channel,
            direction=t.direction,
            status=rnd.choice([Status.ANSWERED, Status.MISSED]),
            occurred_at=t.occurred_at,
            counterparts=t.counterparts,
            employee=t.employee,
        )
        for t in touches[::7]
    ]
    await store.record(replays)
    await check("replayed touches")
    # a touch taken back, another made one, by status updates
    await store.apply(
        [
            StatusUpdate(source="test", external_id=f"t{n}", status=s, at=NOW)
            for n, s in ((3, Status.FAILED), (7, Status.DELIVERED), (11, Status.CANCELLED))
        ]
    )
    await check("status updates")
    # a batch of reports: stages in and out of order, repeats, unknown ids
    reports = [
        StatusUpdate(
            source="test",
            external_id=f"t{rnd.randrange(len(touches) + 5)}",
            status=rnd.choice([Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED]),
            at=NOW - timedelta(minutes=rnd.randrange(3)),
        )
        for _ in range(60)
    ]
    await store.apply(reports + reports[:10])
    await check("a batch of status updates")
    # touches and updates of the very same touches in one batch
    fresh = [
        Touch(
            source="test",
            external_id=f"f{n}",
            channel=Channel.CALL,
            direction=Direction.IN,
            status=Status.MISSED,
            occurred_at=NOW - timedelta(days=rnd.uniform(0, 30)),
            counterparts=(Address(kind=AddressKind.PHONE, value=_phone(rnd.randrange(18))),),
        )
        for n in range(6)
    ]
    await store.apply(
        [
            *fresh,
            *(
                StatusUpdate(source="test", external_id=f"f{n}", status=s, at=NOW)
                for n, s in ((0, Status.ANSWERED), (1, Status.BUSY), (2, Status.ANSWERED))
            ),
        ]
    )
    await check("touches updated in their own batch")
    # interactions entered by hand: added done, added planned, then completed
    done = await store.activities.add_interaction(
        channel=Channel.MEETING,
        employee_id=emps[0],
        contact_id=ids[8],
        subject="Visit",
        occurred_at=NOW - timedelta(days=rnd.uniform(1, 90)),
    )
    planned = [
        await store.activities.add_interaction(
            channel=channel,
            employee_id=emps[1],
            contact_id=ids[9 + n],
            subject="Plan",
            due_at=NOW - timedelta(days=rnd.uniform(-5, 40)),
        )
        for n, channel in enumerate((Channel.MEETING, Channel.TASK))
    ]
    assert done and planned
    await check("interactions added")
    for activity_id in planned:
        await store.activities.complete(activity_id, result="agreed", at=NOW)
    await check("interactions completed")
    # owners change, fields fill in, identities arrive, two clients merge
    await store.contacts.update(ids[0], owner_employee_id=emps[1], city="Omsk")
    await store.contacts.update(
        ids[1], add_addresses=[Address(kind=AddressKind.TELEGRAM, value="@c1")]
    )
    await store.contacts.update(ids[2], owner_employee_id=emps[2])
    await check("contact updates")
    await store.contacts.merge(ids[3], ids[4])
    await check("a merge")
    return ids


def _as_of_days(rnd: random.Random) -> list[date]:
    today = NOW.date()
    days = [today + timedelta(days=1), today, today - timedelta(days=1)]
    days += [today - timedelta(days=rnd.randrange(1, 230)) for _ in range(10)]
    first = today.replace(day=1)
    for _ in range(7):
        days.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return days


async def _compare(store: ActivityStore, rnd: random.Random, forgotten: list[int]) -> None:
    kept = None
    async with store.engine.connect() as conn:
        kept = await client_base.maintained(conn)
        assert kept.fields and set(forgotten) <= set(kept.forgotten_days)
        for day in _as_of_days(rnd):
            as_of = local_midnight(day, store.tz)
            for fields in QUALITY_FIELDS:
                measures = [client_state.filled_measure(f) for f in fields]
                counts = await client_base.owner_counts(
                    conn, [client_state.CONTACTS, *measures], day, None
                )
                kept_quality = {
                    e: (c[client_state.CONTACTS], sum(c[m] for m in measures))
                    for e, c in counts.items()
                    if c[client_state.CONTACTS]
                }
                scanned = await queries.contact_quality(conn, fields, as_of, None)
                assert kept_quality == scanned, (day, fields)
            for days in forgotten:
                measure = client_state.forgotten_measure(days)
                counts = await client_base.owner_counts(conn, [measure], day, None)
                kept_forgotten = {e: c[measure] for e, c in counts.items() if c[measure]}
                scanned_forgotten = await queries.forgotten_clients(
                    conn, days, as_of, store.tz, None
                )
                assert kept_forgotten == scanned_forgotten, (day, days)


async def _tables(store: ActivityStore) -> dict[str, Any]:
    async with store.engine.connect() as conn:
        states = {
            cid: (owner, client_state.ClientState.load(owner, text))
            for cid, owner, text in await conn.execute(select(kpi_client_state))
        }
        sums: dict[str, dict[tuple[Any, ...], int]] = {}
        for table in (kpi_owner_day, kpi_owner_month):
            rows = await conn.execute(select(table))
            sums[table.name] = {tuple(r[:-1]): int(r[-1]) for r in rows if r[-1]}
    return {"states": states, **sums}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_maintained_counts_equal_the_scan_and_a_rebuild(
    store: ActivityStore, seed: int
) -> None:
    rnd = random.Random(seed)

    async def check(after: str) -> None:
        await assert_projections_equal_a_rebuild(store, after)

    ids = await _world(store, rnd, check)
    await _compare(store, rnd, [30])
    kept = await _tables(store)
    async with store.engine.begin() as conn:
        await client_base.rebuild(conn, store.tz)
    assert await _tables(store) == kept
    # another period needs a rebuild; then it is kept as well
    async with store.engine.begin() as conn:
        await client_base.rebuild(conn, store.tz, [7, 30])
    await store.contacts.merge(ids[5], ids[6])
    await _compare(store, rnd, [7, 30])
    await check("a merge after a rebuild")


async def test_a_store_without_the_deltas_scans_and_agrees(store: ActivityStore) -> None:
    """An old store (contacts before migration 0003) scans until `kpi rebuild`: same facts."""
    ids = await _world(store, random.Random(7))
    settings = KpiSettings(timezone=str(store.tz))
    service = KpiService(store.engine, settings)
    codes = ("client_base_quality", "forgotten_clients")

    async def snapshot() -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        current = service.current_month()
        for period in (current, current.previous(), current.previous().previous()):
            table = await service.table(Viewer.admin(), period, indicators=codes)
            for cell in table.cells:
                seen[(period.key, cell.employee, cell.indicator)] = (cell.fact, cell.records)
                page = await service.drill(
                    Viewer.admin(), cell.indicator, cell.employee, period, limit=500
                )
                seen[(period.key, cell.employee, cell.indicator, "drill")] = [
                    i["id"] for i in page.items
                ]
        return seen

    kept = await snapshot()
    assert any(v[1] for k, v in kept.items() if len(k) == 3), "the world has counted clients"
    async with store.engine.begin() as conn:
        await conn.execute(delete(kpi_client_base_meta))
        assert not (await client_base.maintained(conn)).fields
    assert await snapshot() == kept
    await store.contacts.update(ids[7], city="Tver")  # not kept now: nothing is written
    async with store.engine.connect() as conn:
        assert not (await client_base.maintained(conn)).fields
