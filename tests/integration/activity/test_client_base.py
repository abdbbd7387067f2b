"""The per-owner client-base deltas agree with a scan of the contacts, whatever the writes.

Contacts, owners, identities, merges, touches and status changes go through the real
store; the maintained counts are then compared with the scanning queries as of many
days, and a rebuild from scratch must leave exactly the same state behind.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from hub.activity import ActivityStore, client_base
from hub.activity.client_base import (
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

NOW = datetime.now(UTC)
QUALITY_FIELDS = (["city", "email", "phone"], ["name", "organization", "telegram"])


def _phone(i: int) -> str:
    return f"+7916{i:07d}"


async def _world(store: ActivityStore, rnd: random.Random) -> list[int]:
    """Three owners, eighteen clients created over the last 200 days, random touches."""
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
        await client_base.refresh(conn, ids, store.tz)
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
    for start in range(0, len(touches), 40):  # several transactions, out of time order
        await store.record(touches[start : start + 40])
    # a touch taken back, another made one, by status updates
    await store.apply(
        [
            StatusUpdate(source="test", external_id=f"t{n}", status=s, at=NOW)
            for n, s in ((3, Status.FAILED), (7, Status.DELIVERED), (11, Status.CANCELLED))
        ]
    )
    # owners change, fields fill in, identities arrive, two clients merge
    await store.contacts.update(ids[0], owner_employee_id=emps[1], city="Omsk")
    await store.contacts.update(
        ids[1], add_addresses=[Address(kind=AddressKind.TELEGRAM, value="@c1")]
    )
    await store.contacts.update(ids[2], owner_employee_id=emps[2])
    await store.contacts.merge(ids[3], ids[4])
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
                measures = [client_base.filled_measure(f) for f in fields]
                counts = await client_base.owner_counts(
                    conn, [client_base.CONTACTS, *measures], day, None
                )
                kept_quality = {
                    e: (c[client_base.CONTACTS], sum(c[m] for m in measures))
                    for e, c in counts.items()
                    if c[client_base.CONTACTS]
                }
                scanned = await queries.contact_quality(conn, fields, as_of, None)
                assert kept_quality == scanned, (day, fields)
            for days in forgotten:
                measure = client_base.forgotten_measure(days)
                counts = await client_base.owner_counts(conn, [measure], day, None)
                kept_forgotten = {e: c[measure] for e, c in counts.items() if c[measure]}
                scanned_forgotten = await queries.forgotten_clients(
                    conn, days, as_of, store.tz, None
                )
                assert kept_forgotten == scanned_forgotten, (day, days)


async def _tables(store: ActivityStore) -> dict[str, Any]:
    async with store.engine.connect() as conn:
        states = {
            cid: (owner, client_base.ClientState.load(owner, text))
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
    ids = await _world(store, rnd)
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


def test_a_touch_day_splits_only_the_gap_it_falls_in() -> None:
    state = client_base.build_state(
        1, created=100, filled={}, touch_days=[140, 150, 200], shortest=30
    )
    assert state.gaps == [(100, 140), (150, 200)] and state.last == 200
    state.add_touch(170, 30)  # 150..170..200: both halves short
    assert state.gaps == [(100, 140)]
    state.add_touch(90, 30)  # before the client existed: ignored
    state.add_touch(140, 30)  # a day already touched: nothing
    assert state.gaps == [(100, 140)]
    events = state.events([30])
    # forgotten from day 131 until the touch on 140 (counts from 141 off), and from 231 on
    assert events[("forgotten:30", 131)] == 1 and events[("forgotten:30", 141)] == -1
    assert events[("forgotten:30", 231)] == 1
    assert events[("contacts", 101)] == 1


@pytest.mark.parametrize("seed", range(20))
def test_forgotten_on_agrees_with_the_summed_events(seed: int) -> None:
    rnd = random.Random(seed)
    days = rnd.choice([1, 7, 30])
    state = client_base.build_state(
        1,
        created=1000,
        filled={},
        touch_days=[rnd.randrange(990, 1200) for _ in range(rnd.randrange(0, 12))],
        shortest=days,
    )
    events = state.events([days])
    running = 0
    for day in range(990, 1300):
        running += events.get((client_base.forgotten_measure(days), day), 0)
        assert state.forgotten_on(day, days) == (running > 0), (day, state)


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
