"""Executemany of many rows without SQLAlchemy's per-row parameter machinery.

A batch of touches writes thousands of rows in a few executemany statements. Through
`conn.execute(stmt, rows)` SQLAlchemy builds every row's parameters anew (name lookups,
type processors, the `UTCDateTime` decorator) — as much time as SQLite needs to store
them. Here a statement is compiled once per dialect, its parameters put in order, and
each row turned into a tuple by one converter per column: the same values SQLAlchemy
would bind (dates in SQLite's text format, aware times as naive UTC …), fewer calls.
The statement still runs through `exec_driver_sql`, so errors and transactions behave
as for any other statement.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Table, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.schema import UTCDateTime

Converter = Callable[[Any], Any]


def _naive_utc(value: datetime | None) -> datetime | None:
    """What `UTCDateTime` binds: aware in, naive UTC out."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


def _sqlite_utc(value: datetime | None) -> str | None:
    """`UTCDateTime` as SQLAlchemy stores it in SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        value = value.astimezone(UTC)
    text = value.isoformat(" ")[:-6]  # without "+00:00"
    return text if value.microsecond else text + ".000000"


def _sqlite_date(value: date | None) -> str | None:
    """A `Date` as SQLAlchemy stores it in SQLite: 'YYYY-MM-DD'."""
    if value is None:
        return None
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


#: Converters that give None for None and depend on nothing but the (hashable) value.
_PURE: frozenset[Converter] = frozenset({_naive_utc, _sqlite_utc, _sqlite_date})


def converter(type_: Any, dialect: Dialect) -> Converter | None:
    """The bind conversion of one column type, fast for the hot types, else SQLAlchemy's."""
    if isinstance(type_, UTCDateTime):
        return _sqlite_utc if dialect.name == "sqlite" else _naive_utc
    if dialect.name == "sqlite" and isinstance(type_, Date) and not isinstance(type_, DateTime):
        return _sqlite_date
    processor: Converter | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


class _Plan:
    """A compiled statement: its SQL text and, per positional parameter, name and converter."""

    __slots__ = ("convert", "names", "sql")

    def __init__(self, sql: str, names: tuple[str, ...], convert: tuple[Converter | None, ...]):
        self.sql = sql
        self.names = names
        self.convert = convert

    def tuples(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """The rows as parameter tuples, converted a column at a time.

        Our own time converters are pure functions of hashable values, so each distinct
        value is converted once (a batch shares its `created_at`, roll-up rows their days).
        """
        columns: list[list[Any]] = []
        for name, conv in zip(self.names, self.convert, strict=True):
            values = [row[name] for row in rows]
            if conv is None:
                pass
            elif conv in _PURE:
                memo: dict[Any, Any] = {None: None}
                values = [memo[v] if v in memo else memo.setdefault(v, conv(v)) for v in values]
            else:
                values = list(map(conv, values))
            columns.append(values)
        return list(zip(*columns, strict=True))


_PLANS: dict[tuple[str, Hashable], _Plan | None] = {}


def _plan(
    conn: AsyncConnection, key: Hashable, build: Callable[[], Any], columns: Sequence[str]
) -> _Plan | None:
    """The plan of a statement, compiled once per dialect and key (None: not positional)."""
    dialect = conn.dialect
    cache_key = (dialect.name, key)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    compiled = build().compile(dialect=dialect, column_keys=list(columns))
    positions = compiled.positiontup
    plan: _Plan | None = None
    if positions is not None and set(positions) <= set(columns):
        binds = compiled.binds
        plan = _Plan(
            str(compiled),
            tuple(positions),
            tuple(converter(binds[name].type, dialect) for name in positions),
        )
    _PLANS[cache_key] = plan
    return plan


async def executemany(
    conn: AsyncConnection,
    key: Hashable,
    build: Callable[[], Any],
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Run `build()` for every row (dicts with the same keys); `key` names the statement.

    Returns the rows changed as the driver counts them (-1 when it can't tell).
    Statements whose parameters are not all plain row values (defaults filled in by
    SQLAlchemy, expanding IN lists) go through `conn.execute` as before.
    """
    if not rows:
        return 0
    columns = tuple(rows[0])
    plan = _plan(conn, (key, columns), build, columns)
    if plan is None:
        return int((await conn.execute(build(), list(rows))).rowcount)
    return int((await conn.exec_driver_sql(plan.sql, plan.tuples(rows))).rowcount)


async def inserted_ids(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> list[int] | None:
    """The ids one executemany just gave `rows` of `table`, in order; None when unproven.

    SQLite gives a new row the largest rowid plus one, and nobody else can write while
    this transaction holds the write lock, so an executemany of n rows took the n ids
    ending at the new maximum; the first and last are checked against their unique
    `key`. On other databases (or if the check fails) the caller reads the ids back.
    """
    if conn.dialect.name != "sqlite" or not rows:
        return None
    id_column = table.c.id
    last = await conn.scalar(select(func.max(id_column)))
    if last is None:
        return None
    last = int(last)
    first = last - len(rows) + 1
    cols = [table.c[name] for name in key]
    found = {
        int(row[0]): tuple(row[1:])
        for row in await conn.execute(select(id_column, *cols).where(id_column.in_([first, last])))
    }
    head, tail = rows[0], rows[-1]
    if found.get(first) != tuple(head[n] for n in key) or found.get(last) != tuple(
        tail[n] for n in key
    ):
        return None
    return list(range(first, last + 1))
