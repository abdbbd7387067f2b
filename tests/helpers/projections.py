"""What the store's projections hold, and the check that a rebuild would leave the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity import ActivityStore
from hub.activity.rollups.client_state import ClientState
from hub.activity.rollups.tables import CLIENT_BASE_TABLES, ROLLUP_TABLES, kpi_client_state
from hub.activity.schema import dialogs


async def projected_rows(engine: AsyncEngine) -> dict[str, list[Any]]:
    """Every projection table's rows, comparable: sums rounded, rows counting nothing left
    out, client states as values (their stored JSON may order fields differently)."""
    result: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for table in (*ROLLUP_TABLES, *CLIENT_BASE_TABLES, dialogs):
            rows = (await conn.execute(select(table))).mappings().all()
            kept: list[Any] = []
            for row in rows:
                if row.get("n", 1) == 0 or row.get("contacts", 1) == 0:
                    continue
                if table is kpi_client_state:
                    owner = int(row["employee_id"])
                    kept.append((row["contact_id"], owner, ClientState.load(owner, row["state"])))
                    continue
                kept.append(tuple(round(v, 3) if isinstance(v, float) else v for v in row.values()))
            result[table.name] = sorted(kept, key=repr)
    return result


async def assert_projections_equal_a_rebuild(store: ActivityStore, after: str) -> None:
    """The projections kept by the writes so far are what `touchhub kpi rebuild` makes."""
    kept = await projected_rows(store.engine)
    async with store.engine.begin() as conn:
        await store.projections.rebuild(conn)
    rebuilt = await projected_rows(store.engine)
    for name, rows in kept.items():
        assert rows == rebuilt[name], f"{name} differs from a rebuild after {after}"
