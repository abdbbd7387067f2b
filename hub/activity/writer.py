"""`BatchWriter`: one bounded queue from every adapter into one transaction per batch.

Producers `put` items; a full queue makes them wait (back-pressure, nothing dropped).
The writer takes up to `batch_size` items or whatever arrived within `window_ms` of the
first, and writes them with the store's `apply` in one transaction, so an adapter's
checkpoint lands together with the touches before it. Status updates (delivery reports,
read receipts, bounces) share the queue and the batch: `apply` writes a batch's touches
first, then all its status updates with set-based statements. A database outage is retried
with backoff, holding the batch; an item the database refuses is split out (the batch
is halved until the refused item stands alone) and quarantined, and the rest of its
batch is written, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity.options import WriterOptions
from hub.activity.resolve import Normalised
from hub.backoff import BackoffPolicy
from hub.errors import StoreUnavailable
from hub.model import Quarantined, SinkItem, StatusUpdate, Touch, utcnow

logger = logging.getLogger(__name__)

RETRY_INITIAL_S = 0.5
RETRY_MAX_S = 30.0
#: While the database is unreachable the batch is held and retried on this policy.
RETRY = BackoffPolicy(initial_s=RETRY_INITIAL_S, max_s=RETRY_MAX_S)
TRANSIENT = (OperationalError, InterfaceError, OSError, StoreUnavailable)


#: A queued item with its addresses normalised in advance (touches only).
_Entry = tuple[SinkItem, Normalised | None]


class WriteTarget(Protocol):
    """What the writer needs of the store: its engine, normalising, one batch's write and
    reading a resume point back (`ActivityStore` is one)."""

    @property
    def engine(self) -> AsyncEngine: ...

    def prepare(self, touch: Touch) -> Normalised: ...

    async def apply(
        self,
        items: Sequence[SinkItem],
        prepared: Sequence[Normalised | None] | None = None,
        *,
        conn: AsyncConnection | None = None,
    ) -> object: ...

    async def get_checkpoint(self, source: str, key: str) -> str | None: ...

    async def checkpoints_under(self, source: str, prefix: str) -> dict[str, str]: ...

    def spool_folder(self, source: str) -> Path | None: ...


@dataclass(slots=True)
class _Flush:
    done: asyncio.Future[None]


@dataclass(slots=True)
class WriterStats:
    """What the writer has done, for `health`."""

    written: int = 0
    batches: int = 0
    retries: int = 0
    quarantined: int = 0
    last_batch_at: datetime | None = None
    last_error: str | None = None
    queued: int = 0
    counters: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["last_batch_at"] = self.last_batch_at.isoformat() if self.last_batch_at else None
        return data


def describe(item: SinkItem) -> bytes:
    """A JSON rendering of an item, kept as the raw bytes when it must be quarantined."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    payload = {"type": type(item).__name__, **dataclasses.asdict(item)}
    return json.dumps(payload, default=default, ensure_ascii=False).encode()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is written.

    A batch keeps thousands of rows (dicts, tuples) alive until it commits; each automatic
    collection walks them again and, as they survive, moves them to the older generations
    that the next full collection walks too. That cost about a fifth of the writer's time
    (30,000 touches in batches of 5,000: 6,900-7,300 touches/s collecting, 8,600-8,800
    without). Reference counting still frees everything as usual; cycles wait until the
    batch is done, then the collector runs on its normal schedule. Left alone when
    something else turned the collector off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class BatchWriter:
    """A `Sink` that batches writes into the store; start it, put items, stop it."""

    def __init__(
        self,
        store: WriteTarget,
        options: WriterOptions | None = None,
        *,
        retry: BackoffPolicy = RETRY,
    ) -> None:
        options = options if options is not None else WriterOptions()
        self.store = store
        self.retry = retry
        self.batch_size = options.batch_size
        self.window = options.window_ms / 1000
        self._queue: asyncio.Queue[_Entry | _Flush | None] = asyncio.Queue(
            maxsize=options.queue_size
        )
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._closing = False
        self.stats = WriterStats()

    async def __aenter__(self) -> BatchWriter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="store:writer")

    async def stop(self) -> None:
        """Write everything queued, then end."""
        if self._task is None:
            return
        self._closing = True
        await self._queue.put(None)
        await self._task
        self._task = None

    async def put(self, item: SinkItem) -> None:
        """Queue an item; waits while the queue is full."""
        if self._closing:
            raise RuntimeError("the store writer is stopping; nothing more is accepted")
        # Normalising here, on the producer's turn, overlaps it with the writer's database waits.
        norm = self.store.prepare(item) if isinstance(item, Touch) else None
        await self._queue.put((item, norm))
        self.stats.queued = self._queue.qsize()

    async def flush(self) -> None:
        """Return once everything put before this call is committed."""
        if self._task is None:
            raise RuntimeError("the store writer is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Flush(done))
        await done

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        """The committed resume point (after writing what is queued)."""
        if self._task is not None:
            await self.flush()
        return await self.store.get_checkpoint(source, key)

    async def checkpoints_under(self, source: str, prefix: str) -> dict[str, str]:
        """The committed checkpoints of `source` whose keys start with `prefix`."""
        if self._task is not None:
            await self.flush()
        return await self.store.checkpoints_under(source, prefix)

    def spool_folder(self, source: str) -> Path | None:
        """The store's folder for `source`'s own files, if it has one (SQLite only)."""
        return self.store.spool_folder(source)

    async def _next_batch(self) -> tuple[list[_Entry], list[_Flush], bool]:
        first = await self._queue.get()
        items: list[_Entry] = []
        flushes: list[_Flush] = []
        stop = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window
        entry: _Entry | _Flush | None = first
        while True:
            if entry is None:
                stop = True
                break
            if isinstance(entry, _Flush):
                flushes.append(entry)
                break  # a flush wants an answer now, not after the window
            items.append(entry)
            if len(items) >= self.batch_size:
                break
            try:
                entry = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    entry = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
        return items, flushes, stop

    async def _connection(self) -> AsyncConnection:
        """The writer's own connection: opening one per batch cost SQLite its page cache."""
        if self._conn is None:
            self._conn = await self.store.engine.connect()
        return self._conn

    async def _drop_connection(self) -> None:
        """Forget the connection after a failure; the next batch opens a fresh one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _run(self) -> None:
        try:
            await self._loop()
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _loop(self) -> None:
        while True:
            items, flushes, stop = await self._next_batch()
            if items:
                await self._write(items)
            for marker in flushes:
                if not marker.done.done():
                    marker.done.set_result(None)
            self.stats.queued = self._queue.qsize()
            if stop:
                return

    async def _write(self, entries: list[_Entry]) -> None:
        backoff = self.retry.start()
        items = [item for item, _ in entries]
        while True:
            try:
                conn = await self._connection()
                with collector_paused():
                    await self.store.apply(items, [norm for _, norm in entries], conn=conn)
            except TRANSIENT as exc:
                await self._drop_connection()
                self.stats.retries += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                delay = backoff.next_delay()
                logger.error(
                    "store write failed (%s); retrying %d items in %.1fs", exc, len(items), delay
                )
                await asyncio.sleep(delay)
                continue
            except Exception as exc:  # a bad item: find it, keep the rest
                if len(items) == 1:
                    await self._quarantine(items[0], exc)
                    return
                # Halves, not items one by one: a lone bad item in a batch of n costs
                # about 2·log2(n) transactions instead of n, so large batches stay cheap.
                logger.warning("batch of %d refused (%s); writing it in halves", len(items), exc)
                half = len(entries) // 2
                await self._write(entries[:half])
                await self._write(entries[half:])
                return
            self.stats.written += len(items)
            self.stats.batches += 1
            self.stats.last_batch_at = utcnow()
            return

    async def _quarantine(self, item: SinkItem, exc: Exception) -> None:
        reason = f"store refused {type(item).__name__}: {type(exc).__name__}: {exc}"
        logger.error(reason)
        self.stats.quarantined += 1
        external_id = item.external_id if isinstance(item, (Touch, StatusUpdate)) else None
        bad = Quarantined(
            source=getattr(item, "source", "store"),
            reason=reason[:2000],
            raw=describe(item),
            external_id=external_id,
        )
        with contextlib.suppress(Exception):
            await self.store.apply([bad])
