"""Roll-ups kept by the real `ActivityStore` writes equal a rebuild, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hub.activity import ActivityStore
from hub.activity.rollups import rebuild, tables
from hub.demo import seed
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer


async def _rows(store: ActivityStore) -> tuple[list[Any], list[Any]]:
    async with store.engine.connect() as conn:
        daily = sorted(
            (tuple(r[:-2]), round(r[-2], 3), round(r[-1], 3))
            for r in (await conn.execute(select(tables.kpi_daily))).all()
            if r.n
        )
        month = sorted(
            tuple(r) for r in (await conn.execute(select(tables.kpi_contact_month))).all() if r.n
        )
    return daily, month


def _call(n: int, at: datetime, direction: Direction, status: Status, phone: str) -> Touch:
    return Touch(
        source="ami:test",
        external_id=f"call-{n}",
        channel=Channel.CALL,
        direction=direction,
        status=status,
        occurred_at=at,
        talk_seconds=60.0 if status is Status.ANSWERED else None,
        counterparts=(Address(kind=AddressKind.PHONE, value=phone),),
        employee=Address(kind=AddressKind.EXTENSION, value="101"),
    )


async def test_store_writes_keep_rollups_equal_to_rebuild(store: ActivityStore) -> None:
    await store.employees.add("Anna", addresses=[Address(kind=AddressKind.EXTENSION, value="101")])
    base = datetime(2026, 10, 31, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    touches = [
        _call(
            i,
            base + timedelta(minutes=37 * i),
            Direction.IN if i % 2 else Direction.OUT,
            [Status.ANSWERED, Status.MISSED, Status.BUSY][i % 3],
            f"+7999000{i % 4:04d}",
        )
        for i in range(30)
    ]
    await store.record(touches)
    # replays change statuses (an update: old row out, new row in) and add answered callbacks
    await store.record(
        [
            _call(
                i,
                base + timedelta(minutes=37 * i),
                Direction.IN,
                Status.ANSWERED,
                f"+7999000{i % 4:04d}",
            )
            for i in range(0, 30, 4)
        ]
    )
    kept = await _rows(store)
    assert kept[0], "the store did not adjust any roll-up"
    async with store.engine.begin() as conn:
        await rebuild.rebuild(conn, store.tz)
    assert await _rows(store) == kept
    service = KpiService(store, KpiSettings(), clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    for period in ("2026-10", "2026-11"):
        table = await service.table(Viewer.admin(), period)
        for cell in table.cells:
            assert cell.records == await service.drill_count(
                Viewer.admin(), cell.indicator, cell.employee, period
            )


async def test_demo_seed_then_kpi(store: ActivityStore) -> None:
    result = await seed(store.engine, activities=3_000, employees=6, contacts=200, seed=1)
    assert result.employees == 6 and result.activities >= 3_000
    async with store.engine.connect() as conn:
        heads = await conn.scalar(select(func.count()).select_from(tables.kpi_daily))
    assert heads
    service = KpiService(store, KpiSettings())
    table = await service.table(Viewer.admin(), service.current_month())
    assert any(c.fact > 0 for c in table.cells)
    kept = await _rows(store)
    async with store.engine.begin() as conn:
        await rebuild.rebuild(conn, store.tz)
    assert await _rows(store) == kept
