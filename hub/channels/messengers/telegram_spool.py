"""The polling spool: full getUpdates batches made durable at once, recorded later together.

getUpdates returns at most 100 updates and confirms (deletes at Telegram) everything below
the offset it is called with, so a batch must be durable on our side before the next call.
Recording it as touches in that transaction makes every transaction 100 touches, where the
store's fixed cost per transaction dominates. The spool makes a full batch durable cheaply
instead — getUpdates' answer, its text as Telegram sent it, kept on a shelf
(`telegram_shelves`): a file in a folder beside the database on SQLite (decision 0084),
the bot's checkpoints in the store on PostgreSQL (decision 0083) — and holds it here.
Held batches are then recorded together, with the offset, once enough updates are held,
the oldest has waited long enough, or Telegram has nothing more; the shelf lets go of a
batch only once its touches are committed. A kill loses nothing (a kept batch stays until
its touches are committed) and doubles nothing (recording is idempotent on the touch key);
the next start records what the shelf still keeps before asking Telegram for more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.channels.messengers.telegram_ingest import Digest, UpdateIngest

#: Checkpoint key of the polling offset (the next update id to ask for).
OFFSET_KEY = "offset"
#: Key prefix of spooled batches among the bot's checkpoints.
SPOOL_PREFIX = "spool:"
#: Held updates recorded together once there are this many (4,900: a drain's items, its
#: touches and what lets go of its batches — one removal per batch of 100 on the
#: checkpoint shelf, the offset on the folder shelf — then fit one transaction of the
#: store writer's default 5,000; at 5,000 the 5,050 items split into 5,000 and a tail of
#: 50, which cost a whole small transaction, ~20 ms, every drain)...
DRAIN_AT = 4900
#: ... or once the oldest held batch has waited this long (seconds).
DRAIN_AFTER_S = 0.5
#: Held updates parsed at a time while the poller waits (~0.1 ms of work between looks).
DIGEST_CHUNK = 10


def spool_key(next_offset: int) -> str:
    """The checkpoint key of a batch whose updates end below `next_offset`."""
    return f"{SPOOL_PREFIX}{next_offset:020d}"


@dataclass(slots=True)
class SpooledBatch:
    """One getUpdates batch, durable on the spool's shelf, whose updates end below
    `next_offset`. It is parsed bit by bit into `digest` while the poller waits for
    Telegram's next answer (`Spool.digest_some`), the rest when it is recorded; its raw
    updates are let go once all are parsed."""

    next_offset: int
    raws: tuple[Any, ...]
    size: int = field(init=False)
    parsed: int = 0
    digest: Digest = field(default_factory=Digest)

    def __post_init__(self) -> None:
        self.size = len(self.raws)

    @property
    def key(self) -> str:
        """Its checkpoint key on the checkpoint shelf (and, after the prefix, its file name)."""
        return spool_key(self.next_offset)

    @property
    def unparsed(self) -> int:
        return self.size - self.parsed

    def parse(self, ingest: UpdateIngest, limit: int | None = None) -> Digest:
        """Parse up to `limit` more updates (all that are left by default); the digest."""
        end = self.size if limit is None else min(self.size, self.parsed + limit)
        if end > self.parsed:
            ingest.digest(self.raws[self.parsed : end], self.digest)
            self.parsed = end
            if end == self.size:
                self.raws = ()  # parsed: the collector need not walk them again
        return self.digest


class Spool:
    """The batches one bot holds between their spooling and their recording."""

    def __init__(
        self,
        source: str,
        *,
        drain_at: int = DRAIN_AT,
        drain_after_s: float = DRAIN_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.drain_at = drain_at
        self.drain_after_s = drain_after_s
        self.clock = clock
        self._held: list[SpooledBatch] = []
        self._updates = 0
        self._since: float | None = None
        self._parsing = 0  # the first held batch that may have unparsed updates

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def unparsed(self) -> int:
        """Held updates not parsed yet."""
        return sum(batch.unparsed for batch in self._held[self._parsing :])

    def hold(self, batch: SpooledBatch) -> None:
        """Hold a batch its shelf keeps durable until it is recorded."""
        if self._since is None:
            self._since = self.clock()
        self._held.append(batch)
        self._updates += batch.size

    def due(self) -> bool:
        """Whether the held batches should be recorded now (enough of them, or old enough)."""
        if self._since is None:
            return False
        return self._updates >= self.drain_at or self.clock() - self._since >= self.drain_after_s

    def digest_some(self, ingest: UpdateIngest, limit: int = DIGEST_CHUNK) -> bool:
        """Parse up to `limit` more held updates, oldest first; False when all are parsed.
        Called while the poller waits, so that parsing fills that time (decision 0083)."""
        while self._parsing < len(self._held):
            batch = self._held[self._parsing]
            if batch.unparsed:
                batch.parse(ingest, limit)
                return True
            self._parsing += 1
        return False

    def take(self) -> list[SpooledBatch]:
        """The held batches, oldest first; the spool forgets them (the shelf keeps them until
        they are recorded)."""
        held, self._held, self._updates, self._since = self._held, [], 0, None
        self._parsing = 0
        return held
