"""Compatibility: `adjust` for write paths not yet on the store's unit of work.

The roll-ups live in `hub.activity.rollups` and are kept by the declared projections
(`hub/activity/rollups/projections.py`); this goes once every write path writes through
`ActivityStore.writing()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.rollups.projections import Changes, KpiRollups


async def adjust(
    conn: AsyncConnection,
    removed: Sequence[Mapping[str, Any]],
    added: Sequence[Mapping[str, Any]],
    tz: ZoneInfo,
) -> None:
    """The KPI roll-up projection on rows already written (see `KpiRollups`)."""
    await KpiRollups(tz).adjust(conn, Changes(removed=removed, added=added))
