"""One write transaction of the store, and every activity and contact change made in it.

Write paths get their connection from `ActivityStore.writing()`, a `UnitOfWork`; they
report the activity rows they changed (`activities_changed`) and the contacts whose
fields, identities or owner they changed (`contacts_changed`). On the way out, before
the commit, the declared projections see the net change of the whole transaction, once:
an activity inserted and then updated in the same transaction is one added row, one
updated twice is its first state out and its last state in, and one whose projected
columns did not change is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity import generation
from hub.activity.rollups.projections import Changes, Projections, Row
from hub.activity.schema import ROLLUP_COLUMNS

#: What projections read of a row: a pair equal on these is no change to them (the
#: dialogs show a message's text, so an edited message is a change).
_PROJECTED = (*ROLLUP_COLUMNS, "source", "preview")
_ABSENT: Any = object()


class ChangeLog:
    """The activity and contact changes reported in one transaction, netted."""

    def __init__(self) -> None:
        self._removed: dict[int, list[Row]] = defaultdict(list)
        self._added: dict[int, list[Row]] = defaultdict(list)
        self._loose_removed: list[Row] = []
        self._loose_added: list[Row] = []
        self._contacts: set[int] = set()

    def activities_changed(self, removed: Iterable[Row], added: Iterable[Row]) -> None:
        """Activity rows (with their `id`) as they were and as they are now written.

        Calls add up: a row reported added and later removed (an insert, then an update
        of it) cancels out, whatever the order of the reports."""
        for row in removed:
            aid = row.get("id")
            if aid is None:
                self._loose_removed.append(row)
            else:
                self._removed[int(aid)].append(row)
        for row in added:
            aid = row.get("id")
            if aid is None:
                self._loose_added.append(row)
            else:
                self._added[int(aid)].append(row)

    def contacts_changed(self, ids: Iterable[int | None]) -> None:
        """Contacts whose fields, identities, owner or merge state changed."""
        self._contacts.update(int(c) for c in ids if c is not None)

    def changes(self) -> Changes:
        """The net change so far: per activity, equal rows out and in cancel out."""
        removed = list(self._loose_removed)
        added = list(self._loose_added)
        for aid in sorted(self._removed.keys() | self._added.keys()):
            outs = list(self._removed.get(aid, ()))
            ins: list[Row] = []
            for row in self._added.get(aid, ()):
                match = next((i for i, old in enumerate(outs) if _same(old, row)), None)
                if match is None:
                    ins.append(row)
                else:
                    del outs[match]
            removed += outs
            added += ins
        return Changes(removed=removed, added=added, contacts=frozenset(self._contacts))


class UnitOfWork(ChangeLog):
    """A write transaction's connection and the changes reported on it."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__()
        self.conn = conn


def _same(a: Row, b: Row) -> bool:
    """Equal on every projected column (a row as written and as read back compare equal)."""
    return all(_plain(a.get(k, _ABSENT)) == _plain(b.get(k, _ABSENT)) for k in _PROJECTED)


def _plain(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and not value.tzinfo else value


@asynccontextmanager
async def writing(
    projections: Projections, engine: AsyncEngine, conn: AsyncConnection | None = None
) -> AsyncIterator[UnitOfWork]:
    """A transaction (on `conn`, not in one yet, or a new connection) whose changes reach
    every projection before it commits; nothing is projected when the body fails. A
    transaction that wrote raises the store's generation last (`hub.activity.generation`)."""
    generation.watch(engine)
    if conn is None:
        async with engine.begin() as own:
            generation.forget_writes(own)
            work = UnitOfWork(own)
            yield work
            await _finish(projections, work)
    else:
        async with conn.begin():
            generation.forget_writes(conn)
            work = UnitOfWork(conn)
            yield work
            await _finish(projections, work)


async def _finish(projections: Projections, work: UnitOfWork) -> None:
    await projections.apply(work.conn, work.changes())
    if generation.wrote(work.conn):
        await generation.bump(work.conn)
