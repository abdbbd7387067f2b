"""Compatibility: `adjust` and `refresh` for write paths not yet on the store's unit of work.

The client-base deltas live in `hub.activity.rollups.client_base` and are kept by the
declared projections (`hub/activity/rollups/projections.py`); this goes once every write
path writes through `ActivityStore.writing()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.rollups.projections import Changes, ClientBase


async def adjust(
    conn: AsyncConnection,
    removed: Sequence[Mapping[str, Any]],
    added: Sequence[Mapping[str, Any]],
    tz: ZoneInfo,
) -> None:
    """The client-base projection on activity rows already written."""
    await ClientBase(tz).adjust(conn, Changes(removed=removed, added=added))


async def refresh(conn: AsyncConnection, contact_ids: Iterable[int | None], tz: ZoneInfo) -> None:
    """The client-base projection on contacts already written."""
    ids = frozenset(int(c) for c in contact_ids if c is not None)
    await ClientBase(tz).adjust(conn, Changes(contacts=ids))
