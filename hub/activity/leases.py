"""Single-consumer leases: an adapter that must not run twice runs in one process at a time.

One AMI connection per PBX, one IMAP mailbox, a Telegram poller, an SMPP bind: two
processes running the same one would log every call or letter twice, or fight over the
bind. Each such adapter holds a lease named after it while it runs; a second `touchhub
serve` on the same store stands by and takes the lease over when the holder dies.

- PostgreSQL: a session-level `pg_try_advisory_lock` on a connection of its own, held as
  long as the lease. When the holding process dies the server drops its session and the
  lock with it; when the connection is lost the lease is lost (`Lease.lost` is set) and
  the adapter must stop at once, because another process may already hold it.
- SQLite (one machine): an OS lock (`fcntl.flock`) on a file beside the database, one per
  lease, released by the kernel when the process dies.

Either way the holder writes who it is (host, pid, since, heartbeat) into the `leases`
table, so `touchhub health` anywhere can say which process runs what.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Column, Integer, String, Table, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from hub.activity.dialect import upsert
from hub.activity.engine import safe_name
from hub.activity.schema import UTCDateTime, metadata
from hub.model import utcnow
from hub.urls import sqlite_file

logger = logging.getLogger(__name__)

#: How often a holder proves it is alive (and, on PostgreSQL, that its session is).
HEARTBEAT_S = 2.0
#: A heartbeat that takes longer than this counts as a lost connection.
HEARTBEAT_TIMEOUT_S = 5.0
#: Trying a lease (connecting, asking for the lock) may take this many heartbeat
#: timeouts before it counts as failed (and is tried again).
TAKE_TIMEOUT_HEARTBEATS = 3
#: How often a standing-by process tries to take a lease it does not hold.
RETRY_S = 2.0
#: First key of every touchhub advisory lock ("th"): keeps clear of other applications'.
ADVISORY_CLASS = 0x7468

leases = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseHolder:
    """Who holds a lease, as its holder last wrote it."""

    name: str
    host: str
    pid: int
    since: datetime
    heartbeat_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "since": self.since.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessId:
    """This process, as a lease holder names it."""

    host: str
    pid: int

    @classmethod
    def current(cls) -> ProcessId:
        return cls(host=socket.gethostname(), pid=os.getpid())

    def holds(self, holder: LeaseHolder | None) -> bool:
        return holder is not None and (holder.host, holder.pid) == (self.host, self.pid)


def advisory_key(name: str) -> int:
    """The second key of a lease's advisory lock: a stable signed 32-bit hash of its name."""
    value = zlib.crc32(name.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


class Lease(Protocol):
    """A lease this process holds until `release()`; `lost` is set if it was taken away."""

    name: str
    lost: asyncio.Event

    async def release(self) -> None: ...


class _Lease:
    """What both kinds of lease share: the holder row and its heartbeat."""

    def __init__(self, name: str, board: LeaseBoard) -> None:
        self.name = name
        self.lost = asyncio.Event()
        self._board = board
        self._heartbeat: asyncio.Task[None] | None = None

    def start_heartbeat(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name=f"{self.name}:lease")

    async def _beat(self) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(self._board.heartbeat_s)
            try:
                await asyncio.wait_for(self.prove(), self._board.heartbeat_timeout_s)
            except Exception as exc:  # the lock's own session failed: the lease is gone
                self.lose(f"the lock's connection failed: {exc!r}")
                return
            try:
                await asyncio.wait_for(
                    self._board.touch(self.name), self._board.heartbeat_timeout_s
                )
            except Exception as exc:  # only the display is late; the lock still holds
                logger.warning("lease %s: heartbeat not written: %r", self.name, exc)

    async def prove(self) -> None:
        """Check that the lock itself is still held (a file lock cannot be lost)."""

    def lose(self, why: str) -> None:
        if not self.lost.is_set():
            logger.error("lease %s lost: %s", self.name, why)
            self.lost.set()

    async def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            # bounded: a heartbeat stuck on a dead session must not hold up the release
            await asyncio.wait({self._heartbeat}, timeout=self._board.heartbeat_timeout_s)
            self._heartbeat = None


class PgLease(_Lease):
    """An advisory lock held by a PostgreSQL session of its own."""

    def __init__(self, name: str, board: LeaseBoard, conn: AsyncConnection) -> None:
        super().__init__(name, board)
        self._conn = conn

    async def watch(self) -> None:
        """Set `lost` the moment the server drops the session, not at the next heartbeat."""
        raw = await self._conn.get_raw_connection()
        driver = raw.driver_connection
        add = getattr(driver, "add_termination_listener", None)
        if add is not None:
            add(lambda _conn: self.lose("the database connection closed"))

    async def prove(self) -> None:
        await self._conn.execute(text("SELECT 1"))
        await self._conn.commit()

    async def release(self) -> None:
        was_lost = self.lost.is_set()
        await self._stop_heartbeat()
        self.lost.set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._board.heartbeat_timeout_s):
                await self._board.forget(self.name)
        limit = self._board.heartbeat_timeout_s
        await _end_session(self._conn, gracefully=not was_lost, limit=limit)


async def _end_session(conn: AsyncConnection, *, gracefully: bool, limit: float) -> None:
    """Close the lock's session (the server drops the lock); a dead one is dropped at once,
    never waited on."""
    if gracefully:
        try:
            async with asyncio.timeout(limit):
                await conn.close()
            return
        except Exception:
            logger.debug("closing a lease session failed; dropping it", exc_info=True)
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()


class FileLease(_Lease):
    """An `flock` on a file beside the SQLite database."""

    def __init__(self, name: str, board: LeaseBoard, fd: int) -> None:
        super().__init__(name, board)
        self._fd: int | None = fd

    async def release(self) -> None:
        await self._stop_heartbeat()
        self.lost.set()
        with contextlib.suppress(Exception):
            await self._board.forget(self.name)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class LeaseBoard:
    """Takes leases in one store and tells who holds which."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        me: ProcessId | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
    ) -> None:
        self.engine = engine
        self.me = me or ProcessId.current()
        self.heartbeat_s = heartbeat_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self._lock_engine: AsyncEngine | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def try_take(self, name: str) -> Lease | None:
        """The lease `name` if no other holder has it now, else None (try again later)."""
        lease: PgLease | FileLease | None
        if self.dialect == "postgresql":
            lease = await self._take_advisory(name)
        else:
            lease = self._take_file(name)
        if lease is None:
            return None
        try:
            await self._write_holder(name)
        except BaseException:
            await lease.release()
            raise
        lease.start_heartbeat()
        return lease

    async def _take_advisory(self, name: str) -> PgLease | None:
        if self._lock_engine is None:
            # Not the store's pool: each lease keeps its session for as long as it is held.
            self._lock_engine = create_async_engine(self.engine.url, poolclass=NullPool)
        limit = self.heartbeat_timeout_s * TAKE_TIMEOUT_HEARTBEATS
        async with asyncio.timeout(limit):
            conn = await self._lock_engine.connect()
        try:
            async with asyncio.timeout(limit):
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_lock(:cls, :key)"),
                    {"cls": ADVISORY_CLASS, "key": advisory_key(name)},
                )
                await conn.commit()  # the lock is the session's; no transaction stays open
        except BaseException:
            await _end_session(conn, gracefully=False, limit=limit)
            raise
        if not got:
            await _end_session(conn, gracefully=True, limit=limit)
            return None
        lease = PgLease(name, self, conn)
        await lease.watch()
        return lease

    def _take_file(self, name: str) -> FileLease | None:
        path = self.lock_path(name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return FileLease(name, self, fd)

    def lock_path(self, name: str) -> Path:
        """The lock file of lease `name`: beside the database file (or the temp dir)."""
        base = sqlite_file(str(self.engine.url)) or Path("/tmp") / f"touchhub-memory-{self.me.pid}"
        return base.with_name(f"{base.name}.lease-{safe_name(name)}")

    async def _write_holder(self, name: str) -> None:
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(
                upsert(conn, leases, ("name",), ("host", "pid", "since", "heartbeat_at")),
                {
                    "name": name,
                    "host": self.me.host,
                    "pid": self.me.pid,
                    "since": now,
                    "heartbeat_at": now,
                },
            )

    async def touch(self, name: str) -> None:
        """The holder's heartbeat: its row says it is still alive."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(leases)
                .where(leases.c.name == name)
                .where(leases.c.host == self.me.host)
                .where(leases.c.pid == self.me.pid)
                .values(heartbeat_at=utcnow())
            )

    async def forget(self, name: str) -> None:
        """Remove this process's row of a lease it gives up."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(leases)
                .where(leases.c.name == name)
                .where(leases.c.host == self.me.host)
                .where(leases.c.pid == self.me.pid)
            )

    async def holders(self) -> dict[str, LeaseHolder]:
        """Lease name → its holder as last written (a dead holder's row stays until taken)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(leases).order_by(leases.c.name))).all()
        return {
            r.name: LeaseHolder(
                name=r.name, host=r.host, pid=r.pid, since=r.since, heartbeat_at=r.heartbeat_at
            )
            for r in rows
        }

    async def close(self) -> None:
        if self._lock_engine is not None:
            await self._lock_engine.dispose()
            self._lock_engine = None
