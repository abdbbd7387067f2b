"""A table kept for a store generation is reused only while nothing was written and the
local day is the same: the running period's plan is pro-rated by the days elapsed, so
midnight is a new answer even when the store did not change (decision 0062)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.service import KpiService
from kpi.settings import KpiSettings
from kpi.viewer import Viewer
from tests.integration.kpi.world import MSK, World, msk

ADMIN = Viewer.admin()
CALLS = "outbound_calls"


async def test_a_kept_table_lasts_until_a_write_or_midnight(engine: AsyncEngine) -> None:
    world = World(engine)
    anna = await world.employee("Anna")
    await world.activities([{"employee_id": anna, "occurred_at": msk(2026, 12, 1, 10)}])
    now: list[datetime] = [msk(2026, 12, 7, 23, 58)]
    svc = KpiService(engine, KpiSettings(timezone=str(MSK)), clock=lambda: now[0])
    await svc.set_plan(ADMIN, CALLS, "2026-12", 1, employees=[anna], per_day=True)

    first = await svc.table(ADMIN, "2026-12", indicators=[CALLS])
    now[0] = msk(2026, 12, 7, 23, 59)
    assert await svc.table(ADMIN, "2026-12", indicators=[CALLS]) is first  # nothing changed
    assert first.cell(anna, CALLS).plan == 5  # Monday 7 December: 5 working days elapsed

    now[0] = msk(2026, 12, 8, 0, 1)  # Tuesday: one working day more, the same store
    tuesday = await svc.table(ADMIN, "2026-12", indicators=[CALLS])
    assert tuesday is not first
    assert tuesday.cell(anna, CALLS).plan == 6
    assert tuesday.span is not None and tuesday.span.working_days == 6

    await world.activities([{"employee_id": anna, "occurred_at": msk(2026, 12, 8, 0, 0, 30)}])
    written = await svc.table(ADMIN, "2026-12", indicators=[CALLS])
    assert (tuesday.cell(anna, CALLS).fact, written.cell(anna, CALLS).fact) == (1, 2)
