"""Property: on random activity sets, every drill-down lists exactly what its fact counted,
every count read from a roll-up equals its definition over raw rows (missed calls not
called back, forgotten clients, …), and every projection kept through the unit of work
(KPI roll-ups, client base) equals a `rebuild` from raw rows (also after updates)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub.activity.plans_store  # noqa: F401  (registers KPI tables on the metadata)
from hub.activity.engine import create_engine
from hub.activity.rollups import client_base
from hub.activity.schema import metadata
from kpi import queries, sources
from kpi.catalogue import Aggregate, Source
from kpi.periods import Period
from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer
from tests.helpers.projections import projected_rows
from tests.integration.kpi.world import World

BERLIN = ZoneInfo("Europe/Berlin")  # has DST (Oct 25, 2026), unlike Moscow
NOW = datetime(2026, 12, 20, 12, tzinfo=UTC)
START = datetime(2026, 9, 25, tzinfo=UTC)
SPAN_S = int((datetime(2026, 12, 5, tzinfo=UTC) - START).total_seconds())
PERIODS = ("2026-10", "2026-W44", "2026-Q4")
EMPLOYEES = 3
CONTACTS = 4

KINDS = [
    ("call", "in", ["answered", "missed", "busy"]),
    ("call", "out", ["answered", "no_answer", "busy"]),
    ("call", "internal", ["answered", "missed"]),
    ("email", "out", ["sent", "delivered", "read", "bounced", "queued"]),
    ("email", "in", ["received"]),
    ("messenger", "out", ["sent", "read"]),
    ("sms", "out", ["delivered", "failed"]),
    ("meeting", "out", ["completed", "planned", "cancelled"]),
    ("task", "out", ["completed", "planned", "cancelled"]),
]


@st.composite
def activity(draw: st.DrawFn) -> dict[str, Any]:
    channel, direction, statuses = draw(st.sampled_from(KINDS))
    # Times cluster around midnights and the DST change so bucketing is really tested.
    at = START + timedelta(seconds=draw(st.integers(0, SPAN_S)))
    if draw(st.booleans()):
        at = at.replace(
            hour=draw(st.sampled_from([21, 22, 23, 0])), minute=draw(st.sampled_from([0, 30, 59]))
        )
    row: dict[str, Any] = {
        "channel": channel,
        "direction": direction,
        "status": draw(st.sampled_from(statuses)),
        "occurred_at": at,
        "employee_id": draw(st.integers(1, EMPLOYEES)),
        "contact_id": draw(st.one_of(st.none(), st.integers(1, CONTACTS))),
        "is_client": direction != "internal" and draw(st.integers(0, 9)) > 0,
        "duration_s": float(draw(st.integers(0, 7200))),
    }
    if channel in ("task", "meeting"):
        row["due_at"] = at + timedelta(hours=draw(st.integers(-30, 200)))
        if row["status"] == "completed" or draw(st.integers(0, 5)) == 0:
            row["completed_at"] = row["due_at"] + timedelta(hours=draw(st.integers(-48, 48)))
        row["result"] = draw(st.sampled_from([None, "", "agreed"]))
    return row


@st.composite
def world_plan(
    draw: st.DrawFn,
) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]], list[int]]:
    rows = draw(st.lists(activity(), min_size=1, max_size=40))
    # callback tasks pointing at earlier rows (by position), some completed
    callbacks = draw(st.lists(st.tuples(st.integers(0, len(rows) - 1), st.booleans()), max_size=5))
    changes = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(rows) - 1),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "employee_id": st.integers(1, EMPLOYEES),
                        "contact_id": st.one_of(st.none(), st.integers(1, CONTACTS)),
                        "status": st.sampled_from(
                            ["answered", "missed", "completed", "planned", "read"]
                        ),
                        "completed_at": st.none(),
                    },
                ),
            ),
            max_size=6,
        )
    )
    return (
        rows,
        changes,
        [i for i, done in callbacks if done] + [-1 - i for i, done in callbacks if not done],
    )


async def _check(
    plan: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]], list[int]],
) -> None:
    rows, changes, callbacks = plan
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'p.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await client_base.rebuild(conn, BERLIN)  # keep the client base from the start
        try:
            world = World(engine, BERLIN)
            heads = [await world.employee("E1")]
            for i in range(2, EMPLOYEES + 1):
                heads.append(await world.employee(f"E{i}", heads[0]))
            for i in range(1, CONTACTS + 1):
                await world.contact(
                    f"C{i}",
                    owner=(i % EMPLOYEES) + 1,
                    city="X" if i % 2 else None,
                    email=f"c{i}@x.ru" if i % 3 else None,
                    created_at=datetime(2026, 9, 1, tzinfo=UTC),
                )
            ids = await world.activities(rows)
            extra = []
            for ref in callbacks:
                done = ref >= 0
                target = ref if done else -1 - ref
                extra.append(
                    {
                        "channel": "task",
                        "source": "callback",
                        "status": "completed" if done else "planned",
                        "occurred_at": rows[target]["occurred_at"],
                        "employee_id": rows[target]["employee_id"],
                        "contact_id": rows[target]["contact_id"],
                        "meta": {"callback_for": ids[target]},
                    }
                )
            if extra:
                await world.activities(extra)
            for index, change in changes:
                if not change:
                    continue
                await world.change(ids[index], **change)

            service = KpiService(engine, KpiSettings(timezone="Europe/Berlin"), clock=lambda: NOW)
            viewer = Viewer.admin()
            for period in PERIODS:
                table = await service.table(viewer, period)
                for cell in table.cells:
                    total = await service.drill_count(viewer, cell.indicator, cell.employee, period)
                    assert total == cell.records, (period, cell.indicator, cell.employee)
                    aggregate = service.catalogue[cell.indicator].aggregate
                    if aggregate in (Aggregate.COUNT, Aggregate.FORGOTTEN):
                        assert cell.fact == total, (period, cell.indicator, cell.employee)
                    # facts read from roll-ups equal their definition over raw rows
                    assert cell.records == await _raw_count(
                        service, cell.indicator, cell.employee, period
                    ), ("raw", period, cell.indicator, cell.employee)

            kept = await projected_rows(engine)
            async with engine.begin() as conn:
                await world.projections.rebuild(conn)
            assert await projected_rows(engine) == kept
        finally:
            await engine.dispose()


async def _raw_count(service: KpiService, code: str, employee: int, period: str) -> int:
    """The records of a count indicator straight from the definition over raw rows."""
    ind = service.catalogue[code]
    window = sources.Window.of(Period.parse(period), service.tz, NOW)
    async with service.engine.connect() as conn:
        if ind.aggregate is Aggregate.FORGOTTEN:
            return await queries.count_contacts(
                conn,
                [queries.forgotten_raw(ind.days, window.as_of, service.tz)],
                employee,
                window.as_of,
            )
        if ind.source is not Source.ACTIVITIES or ind.aggregate is not Aggregate.COUNT:
            return (await service.drill(Viewer.admin(), code, employee, period, limit=1)).total
        predicate = queries.activity_predicate(
            ind.counted, ind.date, window.start, window.end, window.today_start
        )
        return await queries.count_activities(conn, predicate, employee)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world_plan())
def test_drill_count_equals_fact_and_rollup_equals_rebuild(
    plan: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]], list[int]],
) -> None:
    asyncio.run(_check(plan))
