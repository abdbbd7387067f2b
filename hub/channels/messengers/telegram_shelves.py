"""Where the polling spool keeps a batch durable between getUpdates' answer and the
transaction that records its touches (decision 0084).

`FolderShelf` — the store is SQLite: each batch is appended to a segment file in a folder
beside the database (``<database>.spool-telegram_NAME/``), one segment per drain, with no
transaction at all; the offset is recorded with the batches' touches, and a drain's
segments are removed once that transaction is committed. Appended bytes are as durable
as a SQLite commit in the store's mode (WAL, synchronous=NORMAL): they survive the
process's death, not the machine's. The poller no longer takes a turn in the store's
single writer for each batch, so polling goes on while a drain commits.

`CheckpointShelf` — any other store (PostgreSQL): polling runs under a lease and may
resume on another host, which must find what the first one confirmed, so each batch is a
checkpoint of the bot's (key ``spool:<next offset>``), committed with the offset in one
transaction of checkpoints alone (decision 0083); a batch is removed by an empty
checkpoint put after its touches, so the removal commits with or after them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from hub.channels.messengers.telegram_spool import OFFSET_KEY, SPOOL_PREFIX, SpooledBatch
from hub.channels.messengers.telegram_updates import updates_in
from hub.channels.sms.outbox import CheckpointScan
from hub.errors import ChannelError, ProtocolError
from hub.model import Checkpoint, Quarantined, Sink

logger = logging.getLogger(__name__)

#: A segment's name: its first batch's next offset, padded so that names sort in order,
#: and this.
SUFFIX = ".spool"
#: How long an adapter that is stopping waits for its last drain's commit (seconds).
CLOSE_GRACE_S = 5.0


@runtime_checkable
class SpoolFolder(Protocol):
    """A sink whose store has a folder for an adapter's own files (the SQLite store's
    writer; None elsewhere)."""

    def spool_folder(self, source: str) -> Path | None: ...


class Shelf(Protocol):
    """Keeps spooled batches durable until their touches are committed."""

    async def keep(self, batch: SpooledBatch, text: str, sink: Sink) -> None:
        """Make `batch` (getUpdates' answer `text`) durable, with the offset after it,
        before the next getUpdates confirms it to Telegram."""

    async def recorded(self, batches: list[SpooledBatch], sink: Sink) -> None:
        """The batches' items are in `sink`: let go of them once those are committed."""

    async def resume(self, sink: Sink) -> list[SpooledBatch]:
        """What is kept (after a restart or an error), oldest first; what cannot be read
        back is quarantined and let go of."""

    async def settle(self) -> None:
        """Wait until the batches recorded so far are let go of."""

    async def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """At the adapter's end: let go of what is recorded if the writer commits it within
        `grace_s`; what is left is recorded again, idempotently, on the next start."""


def shelf_for(source: str, sink: Sink) -> Shelf | None:
    """The shelf a poller writing into `sink` keeps its batches on; None: the sink keeps
    nothing of the kind, and the poller records every batch at once."""
    if isinstance(sink, SpoolFolder):
        folder = sink.spool_folder(source)
        if folder is not None:
            return FolderShelf(source, folder)
    if isinstance(sink, CheckpointScan):
        return CheckpointShelf(source)
    return None


def _unreadable(source: str, where: str, raw: bytes) -> Quarantined:
    return Quarantined(
        source=source, reason="spooled Telegram updates not readable", raw=raw, external_id=where
    )


class CheckpointShelf:
    """Batches as the bot's checkpoints in the store."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def keep(self, batch: SpooledBatch, text: str, sink: Sink) -> None:
        await sink.put(Checkpoint(source=self.source, key=batch.key, value=text))
        await sink.put(Checkpoint(source=self.source, key=OFFSET_KEY, value=str(batch.next_offset)))
        await sink.flush()

    async def recorded(self, batches: list[SpooledBatch], sink: Sink) -> None:
        for batch in batches:
            await sink.put(self.removal(batch.key))

    def removal(self, key: str) -> Checkpoint:
        """The checkpoint that removes an entry."""
        return Checkpoint(source=self.source, key=key, value="")

    async def entries(self, sink: Sink) -> dict[str, str]:
        """The committed entries by key (none when the sink cannot list checkpoints)."""
        if not isinstance(sink, CheckpointScan):
            return {}
        return await sink.checkpoints_under(self.source, SPOOL_PREFIX)

    async def resume(self, sink: Sink) -> list[SpooledBatch]:
        found = await self.entries(sink)
        batches: list[SpooledBatch] = []
        for key in sorted(found):
            try:
                batches.append(SpooledBatch(int(key.removeprefix(SPOOL_PREFIX)), tuple(updates_in(found[key]))))
            except (ProtocolError, ValueError):
                await sink.put(_unreadable(self.source, key, found[key].encode()))
                await sink.put(self.removal(key))
        return batches

    async def settle(self) -> None:
        return None

    async def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        return None


class FolderShelf:
    """Batches appended to segment files in a folder beside the SQLite database: one
    segment per drain (creating a file costs ~0.2 ms here, appending 45 KB ~20 µs), each
    batch a record ``<next offset> <length>\\n<getUpdates' answer>\\n``; a drain's segments
    are removed once its transaction is committed."""

    def __init__(self, source: str, folder: Path) -> None:
        self.source = source
        self.folder = folder
        self._recorded_to: int | None = None  # the highest offset put with recorded touches
        self._letting_go: asyncio.Task[None] | None = None
        self._fd: int | None = None  # the segment being appended to
        self._segments: list[Path] = []  # those holding batches not recorded yet

    async def keep(self, batch: SpooledBatch, text: str, sink: Sink) -> None:
        try:
            self._append(batch.next_offset, text.encode())
        except OSError as exc:
            raise ChannelError(
                f"cannot keep fetched updates in {self.folder}: {exc.strerror or exc}", channel=self.source
            ) from exc

    def _append(self, next_offset: int, data: bytes) -> None:
        """One record at the end of the current segment (a new one after each drain). A
        failed write ends the segment: what follows goes into a new one."""
        if self._fd is None:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # clients' messages
            path = self.folder / f"{next_offset:020d}{SUFFIX}"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._segments.append(path)
        try:
            _write_all(self._fd, [b"%d %d\n" % (next_offset, len(data)), data, b"\n"])
        except OSError:
            self._end_segment()
            raise

    def _end_segment(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    async def recorded(self, batches: list[SpooledBatch], sink: Sink) -> None:
        top = max((batch.next_offset for batch in batches), default=None)
        if top is not None and (self._recorded_to is None or top > self._recorded_to):
            await sink.put(Checkpoint(source=self.source, key=OFFSET_KEY, value=str(top)))
            self._recorded_to = top
        self._end_segment()
        segments, self._segments = self._segments, []
        await self.settle()  # the drain before (long committed, as a rule): one at a time
        self._letting_go = asyncio.ensure_future(self._remove_once_committed(segments, sink))

    async def _remove_once_committed(self, paths: list[Path], sink: Sink) -> None:
        try:
            await sink.flush()
        except Exception as exc:  # the writer is stopping: the next start records them again
            logger.warning("%s: spooled batches kept for the next start (%s)", self.source, exc)
            return
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def settle(self) -> None:
        task, self._letting_go = self._letting_go, None
        if task is not None:
            await task

    async def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        self._end_segment()
        task, self._letting_go = self._letting_go, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, grace_s)  # cancelled when it takes longer
        except TimeoutError:
            logger.warning("%s: recorded batches left in %s for the next start", self.source, self.folder)

    async def resume(self, sink: Sink) -> list[SpooledBatch]:
        """The folder's batches in offset order, after moving into it any entries an
        earlier version kept as checkpoints. The offset stored with the touches (which may
        be ahead of segments whose removal a kill interrupted) is where `recorded` starts."""
        self._end_segment()
        await self.settle()
        await self._move_checkpoint_entries(sink)
        self._segments = []  # all of them are read again below
        stored = await sink.load_checkpoint(self.source, OFFSET_KEY)
        self._recorded_to = int(stored) if stored is not None and stored.isdigit() else None
        if not self.folder.is_dir():
            return []
        batches: list[SpooledBatch] = []
        for path in sorted(self.folder.iterdir()):
            if path.suffix != SUFFIX:
                continue
            self._segments.append(path)
            for record in records_in(path.read_bytes(), path.name):
                try:
                    batches.append(SpooledBatch(record.next_offset, tuple(updates_in(record.data.decode()))))
                except (ProtocolError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
                    where = f"{path.name}@{record.at}"
                    logger.error("%s: spooled batch %s not readable: %s", self.source, where, exc)
                    await sink.put(_unreadable(self.source, where, record.data))
        if not batches and self._segments:  # nothing to record: let go of them now
            await self.recorded([], sink)
            await self.settle()
        return batches

    async def _move_checkpoint_entries(self, sink: Sink) -> None:
        """Entries spooled as checkpoints by an earlier version: appended here, then removed
        from the store (so they are always in one place or the other)."""
        shelf = CheckpointShelf(self.source)
        found = await shelf.entries(sink)
        if not found:
            return
        for key in sorted(found):
            offset = key.removeprefix(SPOOL_PREFIX)
            if offset.isdigit():
                self._append(int(offset), found[key].encode())
            else:
                await sink.put(_unreadable(self.source, key, found[key].encode()))
            await sink.put(shelf.removal(key))
        self._end_segment()
        await sink.flush()


@dataclass(frozen=True, slots=True)
class Record:
    next_offset: int
    data: bytes
    at: int  # its byte offset in the segment


def records_in(segment: bytes, name: str) -> list[Record]:
    """A segment's whole records; a torn or garbled one ends it (a write cut short: the
    batch was never confirmed to Telegram, which sends it again)."""
    records: list[Record] = []
    at = 0
    while at < len(segment):
        end = segment.find(b"\n", at, at + 64)
        head = segment[at:end].split(b" ") if end >= 0 else []
        if len(head) != 2 or not head[0].isdigit() or not head[1].isdigit():
            break
        start, size = end + 1, int(head[1])
        if segment[start + size : start + size + 1] != b"\n":
            break
        records.append(Record(int(head[0]), segment[start : start + size], at))
        at = start + size + 1
    if at < len(segment):
        logger.warning("spool segment %s ends with %d bytes that are not a whole record", name, len(segment) - at)
    return records


def _write_all(fd: int, parts: list[bytes]) -> None:
    """`os.writev` until every byte is written (a regular file may take fewer)."""
    total = sum(len(part) for part in parts)
    written = os.writev(fd, parts)
    if written < total:
        rest = b"".join(parts)[written:]
        while rest:
            rest = rest[os.write(fd, rest) :]
