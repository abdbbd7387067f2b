"""The statements SQLite and PostgreSQL spell differently: insert-or-skip, upsert, `IN`,
reading a JSON key."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.functions import FunctionElement


def _insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# The three below are built once per dialect, table and columns: statements are immutable,
# and building an upsert (its `excluded` alias above all) cost about a millisecond of
# Python in every small write transaction, several times over.


def insert_ignore(conn: AsyncConnection, table: Table, conflict: Sequence[str]) -> Insert:
    """INSERT that skips rows violating the unique key `conflict`."""
    return _insert_ignore(conn.dialect.name, table, tuple(conflict))


def upsert(
    conn: AsyncConnection, table: Table, conflict: Sequence[str], update: Sequence[str]
) -> Insert:
    """INSERT that overwrites the `update` columns when the unique key `conflict` exists."""
    return upsert_for(conn.dialect.name, table, tuple(conflict), tuple(update))


def accumulate(
    conn: AsyncConnection, table: Table, conflict: Sequence[str], add: Sequence[str]
) -> Insert:
    """INSERT that adds the `add` columns to the existing row's when the key `conflict` exists."""
    return _accumulate(conn.dialect.name, table, tuple(conflict), tuple(add))


@functools.cache
def _insert_ignore(dialect: str, table: Table, conflict: tuple[str, ...]) -> Insert:
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=list(conflict))


@functools.cache
def upsert_for(dialect: str, table: Table, conflict: tuple[str, ...], update: tuple[str, ...]) -> Insert:
    """`upsert` for a dialect named `dialect` (built once per dialect, table and columns)."""
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={name: stmt.excluded[name] for name in update}
    )


@functools.cache
def _accumulate(dialect: str, table: Table, conflict: tuple[str, ...], add: tuple[str, ...]) -> Insert:
    stmt = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=list(conflict),
        set_={name: table.c[name] + stmt.excluded[name] for name in add},
    )


def one_of(
    conn: AsyncConnection, column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """`column IN values`, as `= ANY(array)` on PostgreSQL, over `json_each` on SQLite.

    An IN list is a new statement text for every length, which asyncpg prepares anew each
    time; one array parameter keeps one prepared statement for any number of values. On
    SQLite, expanding a list of a thousand values cost SQLAlchemy more than the lookup
    itself; one JSON parameter is the same index search.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    if all(type(v) is str or type(v) is int for v in values):
        items = func.json_each(bindparam(None, json.dumps(list(values)), type_=String))
        return column.in_(select(items.table_valued("value").c.value))
    return column.in_(list(values))


class CustomText(FunctionElement[str]):
    """A key of a JSON document column as text (NULL when absent).

    SQLite's ``json_extract`` path does not match keys stored \\u-escaped (how the JSON
    type writes non-ASCII, e.g. ``инн``) on the versions we meet, so SQLite reads the key
    through ``json_each``, which decodes it; PostgreSQL's ``->>`` decodes anyway.
    """

    type = String()
    inherit_cache = True


@compiles(CustomText, "sqlite")
def _custom_sqlite(element: CustomText, compiler: SQLCompiler, **kw: Any) -> str:
    document, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"(SELECT value FROM json_each({document}) WHERE key = {key})"


@compiles(CustomText, "postgresql")
def _custom_postgresql(element: CustomText, compiler: SQLCompiler, **kw: Any) -> str:
    document, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"({document} ->> {key})"


def custom_text(document: ColumnElement[Any], key: str) -> CustomText:
    """`document[key]` as text, for contacts' custom fields, whatever letters the key has."""
    return CustomText(document, literal(key, String()))
