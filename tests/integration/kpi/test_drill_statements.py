"""A drill-down page costs the same statements whatever its size, for every source."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.results import DrillPage
from kpi.service import KpiService
from kpi.viewer import Viewer
from tests.integration.kpi.world import World, msk

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
ROWS = 200


async def counted(engine: AsyncEngine, page: Any) -> tuple[int, DrillPage]:
    """The statements sent while awaiting `page`, and the page."""
    sent: list[str] = []

    def count(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, many)
        sent.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        result = await page
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    return len(sent), result


@pytest.mark.parametrize(
    "indicator",
    ["outbound_calls", "missed_not_called_back", "client_base_quality", "forgotten_clients"],
)
async def test_same_statements_for_one_row_or_two_hundred(
    world: World, engine: AsyncEngine, indicator: str
) -> None:
    anna = await world.employee("Anna")
    clients = [await world.contact(f"Client {i}", anna) for i in range(ROWS + 1)]
    status, direction = ("missed", "in") if indicator.startswith("missed") else ("answered", "out")
    await world.activities(
        [
            {
                "employee_id": anna,
                "contact_id": c,
                "status": status,
                "direction": direction,
                "occurred_at": msk(2026, 10, 1 + i % 14, 10),  # forgotten by 15 November
            }
            for i, c in enumerate(clients)
        ]
    )
    svc = KpiService(engine, clock=lambda: NOW)
    period = "2026-10" if indicator in ("outbound_calls", "missed_not_called_back") else "2026-11"
    admin = Viewer.admin()
    one, small = await counted(engine, svc.drill(admin, indicator, anna, period, limit=1))
    many, big = await counted(engine, svc.drill(admin, indicator, anna, period, limit=ROWS))
    assert (len(small.items), len(big.items)) == (1, ROWS)
    assert {i["contact_name"] for i in big.items} <= {f"Client {i}" for i in range(ROWS + 1)}
    assert len({i["contact_id"] for i in big.items}) == ROWS
    assert one == many, f"{one} statements for 1 row, {many} for {ROWS}"
