"""Loading many prepared rows at once: the store's path for demo data and benchmarks.

Rows go in as tuples in the order of a column list checked against `schema`
(`columns`), times as naive UTC, JSON as JSON text. On SQLite they are written through
the stdlib driver in one transaction (raw `executemany`, no SQLAlchemy per row); on
PostgreSQL with asyncpg `COPY`. Loading a large number of activities into an empty
table drops the activity indexes and rebuilds them afterwards; the KPI roll-ups and the
client base are then rebuilt once from what was loaded.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, DateTime, Index, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity import generation
from hub.activity.rollups import client_base, rebuild
from hub.activity.rollups import dialogs as dialog_rows
from hub.activity.schema import UTCDateTime, activities, contacts, employees

#: Called with (activities written, activities to write).
Progress = Callable[[int, int], None]
Rows = list[tuple[Any, ...]]

#: Loading at least this many activities into an empty table drops and rebuilds its
#: indexes around the load (cheaper than maintaining them row by row).
REINDEX_FROM = 100_000


def columns(table: Table, *names: str) -> tuple[str, ...]:
    """`names` as a column list of `table`: a column the schema does not have, or a
    required one left out, is a `ValueError` here rather than a failed load later."""
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    required = [
        column.name
        for column in table.columns
        if not column.nullable
        and column.default is None
        and column.server_default is None
        and not column.primary_key
        and column.name not in names
    ]
    if required:
        raise ValueError(f"{table.name} needs column(s) {', '.join(required)}")
    return names


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows of one table in the order of `columns`, in chunks."""

    table: Table
    columns: tuple[str, ...]
    chunks: Iterable[Rows]


@dataclass(frozen=True, slots=True)
class NextIds:
    """The first free ids, and how many activities the store already holds."""

    employee: int
    contact: int
    activity: int
    activities_before: int


async def next_ids(engine: AsyncEngine) -> NextIds:
    """Where new rows may start numbering, so a load can give ids itself."""
    async with engine.connect() as conn:
        first = []
        for table in (employees, contacts, activities):
            top = await conn.scalar(select(func.coalesce(func.max(table.c.id), 0)))
            first.append(int(top or 0) + 1)
        count = int(await conn.scalar(select(func.count()).select_from(activities)) or 0)
    return NextIds(employee=first[0], contact=first[1], activity=first[2], activities_before=count)


def _kinds(batch: Batch) -> tuple[list[int], list[int]]:
    """Positions of the time columns and of the JSON columns of a batch, from the schema."""
    types = [batch.table.c[name].type for name in batch.columns]
    times = [i for i, t in enumerate(types) if isinstance(t, (UTCDateTime, DateTime))]
    jsons = [i for i, t in enumerate(types) if isinstance(t, JSON)]
    return times, jsons


def _sqlite_row(row: tuple[Any, ...], times: list[int], jsons: list[int]) -> tuple[Any, ...]:
    if not times and not jsons:
        return row
    values = list(row)
    for i in times:
        value = values[i]
        if value is not None:
            values[i] = value.isoformat(" ", "microseconds")
    for i in jsons:
        value = values[i]
        if value is not None and not isinstance(value, str):
            values[i] = json.dumps(value)
    return tuple(values)


def _load_sqlite(
    path: str, batches: Sequence[Batch], progress: Progress | None, total: int
) -> int:
    """Everything in one SQLite transaction through the stdlib driver (the fastest path)."""
    db = sqlite3.connect(path, isolation_level=None)
    written = 0
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")
        db.execute("BEGIN")
        for batch in batches:
            times, jsons = _kinds(batch)
            sql = (
                f"INSERT INTO {batch.table.name} ({', '.join(batch.columns)}) "
                f"VALUES ({', '.join('?' * len(batch.columns))})"
            )
            for chunk in batch.chunks:
                db.executemany(sql, [_sqlite_row(r, times, jsons) for r in chunk])
                if batch.table is activities:
                    written += len(chunk)
                    if progress is not None:
                        progress(min(written, total), total)
        db.execute("COMMIT")
        return written
    finally:
        db.close()


async def _load_postgres(
    conn: AsyncConnection, batches: Sequence[Batch], progress: Progress | None, total: int
) -> int:
    """COPY through the asyncpg connection underneath SQLAlchemy."""
    raw = await conn.get_raw_connection()
    apg: Any = raw.driver_connection
    written = 0
    for batch in batches:
        _, jsons = _kinds(batch)
        for chunk in batch.chunks:
            if not chunk:
                continue
            records = chunk if not jsons else [_json_text(r, jsons) for r in chunk]
            await apg.copy_records_to_table(
                batch.table.name, records=records, columns=list(batch.columns)
            )
            if batch.table is activities:
                written += len(chunk)
                if progress is not None:
                    progress(min(written, total), total)
    for table in (employees, contacts, activities):
        await apg.execute(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT max(id) FROM {table.name}))"
        )
    return written


def _json_text(row: tuple[Any, ...], jsons: list[int]) -> tuple[Any, ...]:
    if all(row[i] is None or isinstance(row[i], str) for i in jsons):
        return row
    values = list(row)
    for i in jsons:
        if values[i] is not None and not isinstance(values[i], str):
            values[i] = json.dumps(values[i])
    return tuple(values)


def _activity_indexes() -> list[Index]:
    return [ix for ix in activities.indexes if not ix.unique]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load wrote: activities, and roll-up rows rebuilt from them."""

    activities: int
    rollup_rows: int


async def load(
    engine: AsyncEngine,
    batches: Sequence[Batch],
    *,
    tz: ZoneInfo,
    expected_activities: int,
    progress: Progress | None = None,
) -> LoadResult:
    """Write `batches` in order, then rebuild the roll-ups, the client base in `tz` and
    the messenger dialogs.

    `expected_activities` is how many activity rows the batches hold (for progress and to
    decide whether rebuilding the activity indexes afterwards is cheaper).
    """
    before = (await next_ids(engine)).activities_before
    indexes = (
        _activity_indexes() if before == 0 and expected_activities >= REINDEX_FROM else []
    )
    if indexes:
        async with engine.begin() as conn:
            for index in indexes:
                await conn.run_sync(index.drop)
    try:
        if engine.dialect.name == "sqlite":
            path = engine.url.database or ""
            written = await asyncio.to_thread(
                _load_sqlite, path, batches, progress, expected_activities
            )
        else:
            async with engine.begin() as conn:
                written = await _load_postgres(conn, batches, progress, expected_activities)
    finally:
        if indexes:
            async with engine.begin() as conn:
                for index in indexes:
                    await conn.run_sync(index.create, checkfirst=True)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))
        rows = await rebuild.rebuild(conn, tz)
        await client_base.rebuild(conn, tz)
        await dialog_rows.rebuild(conn)
        await generation.bump(conn)
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    return LoadResult(activities=written, rollup_rows=rows)

