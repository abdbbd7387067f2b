"""Opening the database: URL forms, SQLite pragmas, and running migrations.

Users write ``sqlite:///path`` or ``postgresql://…``; we pick the async drivers
(aiosqlite, asyncpg) here so nothing else has to know.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from hub.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_POOL_SIZE = 10
#: SQLite connections kept open for reuse: a new one costs a thread, five pragmas and a
#: cold page cache, which made every API request slower than the query it ran.
SQLITE_POOL_SIZE = 8
#: Connections opened beyond the pool under a burst, closed when returned.
SQLITE_POOL_OVERFLOW = 24


def async_url(url: str) -> str:
    """Translate a user's store URL into the SQLAlchemy async form."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"store url is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ConfigError(f"store url: unsupported database {backend!r} (use sqlite or postgresql)")


def is_sqlite(url: str) -> bool:
    return make_url(async_url(url)).get_backend_name() == "sqlite"


def safe_name(name: str) -> str:
    """`name` as part of a file name: anything but letters, digits and ``_.-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()
    # Unicode case folding for searches (SQLite's own lower() only knows ASCII).
    dbapi_connection.create_function("th_fold", 1, _fold, deterministic=True)


def _fold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine for `url`; SQLite files get WAL and their folder made."""
    target = async_url(url)
    parsed = make_url(target)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            target,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # asyncpg prepares every statement; after five runs PostgreSQL may switch it to a
    # generic plan, which for "source = $1 AND external_id = ANY($2)" scanned every row of
    # the source (200 ms instead of 12 ms per key lookup of a batch). Custom plans cost a
    # little planning each time and keep the unique index in use. JIT only adds compile
    # time to the store's short statements.
    return create_async_engine(
        target,
        pool_size=PG_POOL_SIZE,
        pool_pre_ping=True,
        connect_args={"server_settings": {"jit": "off", "plan_cache_mode": "force_custom_plan"}},
    )


def _alembic_config(connection: Connection) -> Config:
    # Imported here: only migrating needs alembic, which every command paid to load (0077).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command  # only migrating needs alembic (decision 0077)

    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
