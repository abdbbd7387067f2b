"""An upsert run on SQLite through aiosqlite itself: one hop to the database thread, not three.

SQLAlchemy runs each statement on aiosqlite as three hops to aiosqlite's thread (open a
cursor, execute, close it), and a hop is two thread wake-ups: here ~60 µs of the event
loop's CPU and ~120 µs of wall time each. A Telegram poller commits one small
transaction of checkpoints for every 100 updates before it may ask for more (decision
0064), so those hops were a large part of its cost per update (decision 0083).

The statement is still SQLAlchemy's (`dialect.upsert`), compiled once per table and
columns; the values go through the columns' own bind processors, so a row reads back as
if SQLAlchemy had written it. The caller's transaction (`conn.begin()`) commits it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from hub.activity.dialect import upsert_for

#: The driver behind SQLAlchemy's aiosqlite dialect: what this path runs on.
DRIVER = "aiosqlite"


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        )


def applies(conn: AsyncConnection) -> bool:
    """Whether `conn` runs on aiosqlite (elsewhere the statement goes through SQLAlchemy)."""
    return conn.dialect.driver == DRIVER


async def upsert_rows(
    conn: AsyncConnection,
    table: Table,
    conflict: Sequence[str],
    update: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """`dialect.upsert` of `rows` in `conn`'s open transaction, in one hop (aiosqlite only)."""
    compiled = _compile(conn.dialect, table, tuple(conflict), tuple(update))
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the store's connection has no driver connection")
    await driver.executemany(compiled.sql, [compiled.row(values) for values in rows])


@functools.lru_cache(maxsize=64)
def _compile(dialect: Dialect, table: Table, conflict: tuple[str, ...], update: tuple[str, ...]) -> _Compiled:
    statement = upsert_for(dialect.name, table, conflict, update)
    compiled = statement.compile(dialect=dialect, column_keys=[c.key for c in table.columns])
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    if not names:
        raise RuntimeError(f"upsert of {table.name} compiled without positional parameters")
    processors = tuple(table.c[name].type.bind_processor(dialect) for name in names)
    return _Compiled(str(compiled), names, processors)
