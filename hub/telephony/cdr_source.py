"""Where a PBX's call records are read from for an outage backfill (`[telephony.pbx.NAME] cdr`).

`csv:/var/log/asterisk/cdr-csv/Master.csv` reads `cdr_csv`'s file from its end backwards
until the lines are older than the gap, so a years-long file costs what the gap costs.

`postgresql://USER:PASSWORD@HOST/asterisk` (or `postgresql+asyncpg://…`) reads the `cdr`
table `cdr_pgsql` or `cdr_adaptive_odbc` writes (`?table=NAME` for another name, e.g.
FreePBX's `asteriskcdrdb` database keeps it in `cdr`). `mysql://…` is read by the same
code when an async MySQL driver (aiomysql) is installed. Only the rows of the window are
fetched (by the start column, `start` or `calldate`); their columns go through the
csv reader's own rules (`hub.telephony.cdr.line_of`). This is the PBX's database, not
ours: one read-only statement, no schema of ours.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import DateTime, String, bindparam, cast, column, literal_column, select, table
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import ColumnClause

from hub.errors import ChannelConnectError, ConfigError
from hub.telephony.call_assembler import AssemblerConfig, FinishedCall
from hub.telephony.cdr import CdrCalls, CdrReadStats, parse_lines, parse_rows
from hub.urls import mask_url

#: Bytes read from the end of the file at a time.
TAIL_BLOCK_BYTES = 1 << 20
#: Calls end after they start: lines are kept from this long before the gap began.
LONGEST_CALL = timedelta(hours=4)


class CdrSource(Protocol):
    """The PBX's calls that ended after a moment (for the gap after it)."""

    #: What the last read went through (lines refused, with why).
    stats: CdrReadStats

    async def calls_since(self, since: datetime) -> list[FinishedCall]: ...

    async def close(self) -> None: ...


class CsvCdrSource:
    """`cdr_csv`'s Master.csv on this machine (or a mount of the PBX's)."""

    def __init__(
        self, path: Path, config: AssemblerConfig, *, block_bytes: int = TAIL_BLOCK_BYTES
    ) -> None:
        self.path = path
        self.config = config
        self.block_bytes = block_bytes
        self.stats = CdrReadStats()

    async def calls_since(self, since: datetime) -> list[FinishedCall]:
        text = await asyncio.to_thread(self._tail, since - LONGEST_CALL)
        stats = CdrReadStats()
        calls = CdrCalls(self.config).calls(parse_lines(text, stats))
        self.stats = stats
        return [c for c in calls if c.ended_at is None or c.ended_at > since]

    def _tail(self, oldest: datetime) -> str:
        """The file's last lines, back to the first whose start is before `oldest`."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read the CDR file {self.path}: {exc}") from exc
        with handle:
            end = handle.seek(0, os.SEEK_END)
            data = b""
            while end > 0:
                start = max(0, end - self.block_bytes)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
                if start == 0:
                    break
                # the first whole line of what is read so far: old enough to stop?
                first_end = data.find(b"\n")
                second_end = data.find(b"\n", first_end + 1)
                if first_end < 0 or second_end < 0:
                    continue
                first = parse_lines(data[first_end + 1 : second_end].decode("utf-8", "replace"))
                if first and first[0].start is not None and first[0].start < oldest:
                    data = data[first_end + 1 :]
                    break
            return data.decode("utf-8", "replace")

    async def close(self) -> None:
        return None


#: The table `cdr_pgsql` and `cdr_adaptive_odbc` write by default.
DEFAULT_TABLE = "cdr"
#: Seconds to connect to the PBX's database and read a window from it.
DB_TIMEOUT_S = 15.0
#: Columns a call's start may be stored under: `cdr_adaptive_odbc` aliases, `cdr_pgsql`.
START_COLUMNS = ("start", "calldate")
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
#: Async drivers for the URL schemes people write.
_DRIVERS = {"postgresql": "asyncpg", "postgres": "asyncpg", "mysql": "aiomysql", "mariadb": "aiomysql"}
_ASYNC_DRIVERS = {"asyncpg", "aiomysql", "asyncmy"}


def database_url(setting: str, *, where: str) -> tuple[URL, str]:
    """The async SQLAlchemy URL of a `cdr = "postgresql://…"` setting, and its table."""
    try:
        url = make_url(setting)
    except ArgumentError as exc:
        raise ConfigError(f"{where}: not a database URL: {exc}") from exc
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend not in _DRIVERS:
        raise ConfigError(f"{where}: {backend!r} is not a CDR database (postgresql, mysql)")
    if driver not in _ASYNC_DRIVERS:
        dialect = "postgresql" if backend == "postgres" else backend
        url = url.set(drivername=f"{dialect}+{_DRIVERS[backend]}")
    name = url.query.get("table", DEFAULT_TABLE)
    if not isinstance(name, str) or not _TABLE_RE.match(name):
        raise ConfigError(f"{where}: table {name!r} is not a table name (NAME or SCHEMA.NAME)")
    return url.difference_update_query(["table"]), name


class DbCdrSource:
    """Asterisk's `cdr` table in its own database (`cdr_pgsql`, `cdr_adaptive_odbc`)."""

    def __init__(self, url: URL, table_name: str, config: AssemblerConfig) -> None:
        self.url = url
        self.table_name = table_name
        self.config = config
        self.stats = CdrReadStats()
        self._engine: AsyncEngine | None = None
        self._start_column: str | None = None

    @property
    def masked(self) -> str:
        return mask_url(self.url.render_as_string(hide_password=False))

    def _engine_for(self) -> AsyncEngine:
        if self._engine is None:
            connect_args: dict[str, Any] = {}
            if self.url.get_driver_name() == "asyncpg":
                # Naive CDR times are UTC (`usegmtime = yes`): compare them in UTC too.
                connect_args = {"timeout": DB_TIMEOUT_S, "server_settings": {"timezone": "UTC"}}
            try:
                self._engine = create_async_engine(
                    self.url, poolclass=NullPool, connect_args=connect_args
                )
            except (ArgumentError, ImportError) as exc:
                raise ConfigError(
                    f"cannot read CDR from {self.masked}: {exc} (is its driver installed?)"
                ) from exc
        return self._engine

    async def calls_since(self, since: datetime) -> list[FinishedCall]:
        rows = await self.rows_since(since - LONGEST_CALL)
        stats = CdrReadStats()
        calls = CdrCalls(self.config).calls(parse_rows(rows, stats))
        self.stats = stats
        return [c for c in calls if c.ended_at is None or c.ended_at > since]

    async def rows_since(self, oldest: datetime) -> list[dict[str, Any]]:
        """Every row whose call started at or after `oldest`, oldest first."""
        schema, _, name = self.table_name.rpartition(".")
        cdr = table(name, schema=schema or None)
        since = oldest.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        try:
            async with asyncio.timeout(DB_TIMEOUT_S):
                async with self._engine_for().connect() as conn:
                    if self._start_column is None:
                        probe: CursorResult[Any] = await conn.execute(
                            select(literal_column("*")).select_from(cdr).limit(0)
                        )
                        names: list[str] = list(probe.keys())
                        have = {k.lower(): k for k in names}
                        found = next((have[c] for c in START_COLUMNS if c in have), None)
                        if found is None:
                            raise ConfigError(
                                f"{self.table_name} in {self.masked} has no start column "
                                f"({' or '.join(START_COLUMNS)}): is it Asterisk's cdr table?"
                            )
                        self._start_column = found
                    start: ColumnClause[Any] = column(self._start_column)
                    query: Select[Any] = (
                        select(literal_column("*"))
                        .select_from(cdr)
                        .where(start >= cast(bindparam("since", type_=String), DateTime))
                        .order_by(start)
                    )
                    result = await conn.execute(query, {"since": since})
                    return [dict(row._mapping) for row in result]
        except TimeoutError as exc:
            raise ChannelConnectError(f"CDR database {self.masked} did not answer in time") from exc
        except (SQLAlchemyError, OSError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise ChannelConnectError(f"cannot read CDR from {self.masked}: {reason}") from exc

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


def cdr_source(setting: str, config: AssemblerConfig, *, where: str) -> CdrSource:
    """The source a `cdr = "..."` setting names."""
    kind, _, rest = setting.partition(":")
    if kind == "csv" and rest:
        return CsvCdrSource(Path(rest), config)
    if "://" in setting:
        url, name = database_url(setting, where=where)
        return DbCdrSource(url, name, config)
    raise ConfigError(
        f"{where}: {mask_url(setting)!r} is not a CDR source I can read "
        "(write csv:/var/log/asterisk/cdr-csv/Master.csv or postgresql://USER@HOST/DATABASE)"
    )
