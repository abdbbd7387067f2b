"""Read models as declared projections of the activities, run on every write path.

A projection says how a transaction's changes move it (`adjust`) and how to recompute
it from the activities (`rebuild`). `PROJECTIONS` is the one list of them; the store
runs `Projections.apply` once per write transaction, just before it commits (through
its unit of work, `hub/activity/unit_of_work.py`), so a new write path cannot leave a
read model behind: it gets every projection by writing through the unit of work.

Callback tasks for missed calls are not a projection: they are activities raised by
calls (`hub/activity/callbacks.py`), and the rows they add go through the projections
like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.rollups import adjust as kpi_adjust
from hub.activity.rollups import client_base
from hub.activity.rollups import dialogs as dialog_rows
from hub.activity.rollups.rebuild import rebuild as kpi_rebuild

#: An activity row as written: at least the columns of `schema.ROLLUP_COLUMNS`.
Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What one write transaction changed, net: each activity's row before it (`removed`)
    and after it (`added`), and the contacts whose own fields, identities or owner changed.

    Rows are already written when a projection sees them."""

    removed: Sequence[Row] = ()
    added: Sequence[Row] = ()
    contacts: frozenset[int] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.removed or self.added or self.contacts)


class Projection(Protocol):
    """A read model kept in the same transaction as the activities it is made of."""

    @property
    def name(self) -> str:
        """What `touchhub kpi rebuild` and logs call it."""
        ...

    async def adjust(self, conn: AsyncConnection, changes: Changes) -> None:
        """Follow `changes`, already written, in the caller's transaction."""
        ...

    async def rebuild(self, conn: AsyncConnection) -> int:
        """Recompute from the activities; returns the rows (or clients) kept."""
        ...


@dataclass(frozen=True, slots=True)
class KpiRollups:
    """Daily and monthly counts, client-months, first/last touches, missed calls."""

    tz: ZoneInfo
    name: str = "kpi roll-ups"

    async def adjust(self, conn: AsyncConnection, changes: Changes) -> None:
        await kpi_adjust.adjust(conn, changes.removed, changes.added, self.tz)

    async def rebuild(self, conn: AsyncConnection) -> int:
        return await kpi_rebuild(conn, self.tz)


@dataclass(frozen=True, slots=True)
class ClientBase:
    """Per-owner client-base deltas: clients, filled fields, forgotten clients."""

    tz: ZoneInfo
    name: str = "client base"

    async def adjust(self, conn: AsyncConnection, changes: Changes) -> None:
        # A client recomputed anyway needs no touch-by-touch adjustment first.
        refreshed = changes.contacts
        removed = [r for r in changes.removed if r.get("contact_id") not in refreshed]
        added = [r for r in changes.added if r.get("contact_id") not in refreshed]
        if removed or added:
            await client_base.adjust(conn, removed, added, self.tz)
        if refreshed:
            await client_base.refresh(conn, refreshed, self.tz)

    async def rebuild(self, conn: AsyncConnection) -> int:
        return await client_base.rebuild(conn, self.tz)


@dataclass(frozen=True, slots=True)
class Dialogs:
    """Messenger dialogs: last message, last in and out, unread count, the wait."""

    tz: ZoneInfo
    name: str = "dialogs"

    async def adjust(self, conn: AsyncConnection, changes: Changes) -> None:
        keys = await dialog_rows.affected(conn, [*changes.removed, *changes.added])
        if keys:
            new = dialog_rows.inserted(changes.removed, changes.added)
            await dialog_rows.refresh(conn, keys, new)

    async def rebuild(self, conn: AsyncConnection) -> int:
        return await dialog_rows.rebuild(conn)


#: Every projection, in the order they run. A new read model is added here, and only here.
PROJECTIONS: tuple[Callable[[ZoneInfo], Projection], ...] = (KpiRollups, ClientBase, Dialogs)


@dataclass(frozen=True, slots=True)
class Projections:
    """The declared projections for one store's time zone."""

    members: tuple[Projection, ...]

    @classmethod
    def declared(cls, tz: ZoneInfo) -> Projections:
        return cls(tuple(make(tz) for make in PROJECTIONS))

    async def apply(self, conn: AsyncConnection, changes: Changes) -> None:
        """Run every projection on `changes`, in the caller's transaction."""
        if not changes:
            return
        for projection in self.members:
            await projection.adjust(conn, changes)

    async def rebuild(self, conn: AsyncConnection) -> dict[str, int]:
        """Rebuild every projection from the activities: {name: rows kept}."""
        return {p.name: await p.rebuild(conn) for p in self.members}
