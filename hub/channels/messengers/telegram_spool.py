"""The polling spool: full getUpdates batches made durable at once, recorded later together.

getUpdates returns at most 100 updates and confirms (deletes at Telegram) everything below
the offset it is called with, so a batch must be durable on our side before the next call.
Recording it as touches in that transaction makes every transaction 100 touches, where the
store's fixed cost per transaction dominates. The spool makes a full batch durable cheaply
instead: the raw updates as one checkpoint (source ``telegram:NAME``, key ``spool:`` and
the batch's next offset, zero-padded so keys sort in offset order), written with the offset
checkpoint in one transaction. Held batches are then recorded together — their items, then
each batch's entry removed (an empty checkpoint), in order, so the removal commits with or
after the touches it covers — once enough updates are held, the oldest has waited long
enough, or Telegram has nothing more. A kill loses nothing (an entry stays until its
touches are committed) and doubles nothing (recording is idempotent on the touch key); the
next start records what the spool still holds before asking Telegram for more.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.channels.sms.outbox import CheckpointScan
from hub.model import Checkpoint, Quarantined

#: Key prefix of spooled batches among the bot's checkpoints.
SPOOL_PREFIX = "spool:"
#: Held updates recorded together once there are this many...
DRAIN_AT = 5000
#: ... or once the oldest held batch has waited this long (seconds).
DRAIN_AFTER_S = 0.5


def spool_key(next_offset: int) -> str:
    """The checkpoint key of a batch whose updates end below `next_offset`."""
    return f"{SPOOL_PREFIX}{next_offset:020d}"


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One getUpdates batch, durable in the spool under `key`."""

    key: str
    raws: tuple[Any, ...]


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

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def entry(self, raws: Sequence[Any], next_offset: int) -> tuple[SpooledBatch, Checkpoint]:
        """The batch and the checkpoint that makes it durable (to be committed first)."""
        batch = SpooledBatch(spool_key(next_offset), tuple(raws))
        value = json.dumps(list(raws), ensure_ascii=False, separators=(",", ":"))
        return batch, Checkpoint(source=self.source, key=batch.key, value=value)

    def hold(self, batch: SpooledBatch) -> None:
        """Keep a committed batch until it is recorded."""
        if self._since is None:
            self._since = self.clock()
        self._held.append(batch)
        self._updates += len(batch.raws)

    def due(self) -> bool:
        """Whether the held batches should be recorded now (enough of them, or old enough)."""
        if self._since is None:
            return False
        return self._updates >= self.drain_at or self.clock() - self._since >= self.drain_after_s

    def take(self) -> list[SpooledBatch]:
        """The held batches, oldest first; the spool forgets them (their entries stay)."""
        held, self._held, self._updates, self._since = self._held, [], 0, None
        return held

    def done(self, batch: SpooledBatch) -> Checkpoint:
        """The checkpoint that removes a recorded batch's entry."""
        return Checkpoint(source=self.source, key=batch.key, value="")

    async def resume(self, sink: CheckpointScan) -> list[Quarantined | Checkpoint]:
        """Hold again what the committed spool has (after a restart or an error); entries
        that cannot be read back come out as quarantine records and their removal."""
        found = await sink.checkpoints_under(self.source, SPOOL_PREFIX)
        self.take()
        unreadable: list[Quarantined | Checkpoint] = []
        for key in sorted(found):
            try:
                raws = json.loads(found[key])
            except ValueError:
                raws = None
            if not isinstance(raws, list):
                unreadable.append(
                    Quarantined(
                        source=self.source,
                        reason="spooled Telegram updates not readable",
                        raw=found[key].encode(),
                        external_id=key,
                    )
                )
                unreadable.append(Checkpoint(source=self.source, key=key, value=""))
                continue
            self.hold(SpooledBatch(key, tuple(raws)))
        return unreadable
