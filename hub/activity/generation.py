"""The store's generation: a number every committed write changes (decision 0062).

`bump` raises it inside a write transaction, as that transaction's last statement, so
the new value becomes visible exactly when the write does and the row is locked (on
PostgreSQL) only for the moment of the commit. `current` reads it: one primary-key
lookup of one row. An answer computed after reading generation G reflects at least
every write up to G, so a cache keyed by G is never stale — in this process or in any
other one over the same database.

The unit of work (`hub.activity.unit_of_work.writing`) bumps it when its transaction
ran a statement that may have written (`watch` marks such connections), so a
transaction that only read — a token lookup — stays a reader. Write paths that bypass
the unit of work (`plans_store`, bulk loads, roll-up rebuilds) bump it themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity.schema import store_generation

_ROW = store_generation.c.id == 1
_BUMP = update(store_generation).where(_ROW).values(value=store_generation.c.value + 1)
_READ = select(store_generation.c.value).where(_ROW)
#: Where a connection remembers that it ran a statement that may have written.
_WROTE = "touchhub_wrote"
#: First words of statements that write no data; anything else counts as a write.
_READ_ONLY = frozenset(
    {"SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "SHOW", "SET", "EXPLAIN"}
)


async def bump(conn: AsyncConnection) -> None:
    """Raise the generation in `conn`'s transaction (call it last, just before the commit)."""
    await conn.execute(_BUMP)


async def current(conn: AsyncConnection) -> int | None:
    """The generation now; None for a store without the row (nothing can be keyed by it)."""
    value = await conn.scalar(_READ)
    return None if value is None else int(value)


def _mark(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    words = statement.lstrip().split(None, 1)
    if words and words[0].upper() not in _READ_ONLY:
        conn.info[_WROTE] = True


def watch(engine: AsyncEngine) -> None:
    """Make `engine`'s connections note statements that may write (once per engine)."""
    sync = engine.sync_engine
    if not event.contains(sync, "before_cursor_execute", _mark):
        event.listen(sync, "before_cursor_execute", _mark)


def forget_writes(conn: AsyncConnection) -> None:
    """Start noting writes afresh on `conn` (at the start of a transaction)."""
    if conn.sync_connection is not None:
        conn.sync_connection.info.pop(_WROTE, None)


def wrote(conn: AsyncConnection) -> bool:
    """Whether `conn` ran a statement that may have written since `forget_writes`."""
    sync = conn.sync_connection
    return sync is not None and bool(sync.info.get(_WROTE))
