"""Daily roll-ups of activities (placeholder until the KPI roll-up lands)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection


async def adjust(
    conn: AsyncConnection,
    removed: Sequence[Mapping[str, Any]],
    added: Sequence[Mapping[str, Any]],
    tz: ZoneInfo,
) -> None:
    """Move roll-up counts from `removed` rows to `added` rows."""


async def rebuild(conn: AsyncConnection, tz: ZoneInfo) -> int:
    """Recompute every roll-up from the activities."""
    return 0
