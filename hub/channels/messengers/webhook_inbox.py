"""The webhook inbox every messenger shares: a bounded queue and the task that writes it.

A webhook request verifies and parses what the platform posted, offers it to the account's
inbox and is answered at once (Telegram, Meta, VK and Viber all want an answer within
seconds). The inbox's task takes what has queued, up to `batch` at a time, hands it to the
platform's `write` and notes the delivery as the account's ``webhook`` checkpoint (when the
last delivery was written, for health). A batch that fails is logged and dropped — one bad
delivery must not stop the inbox; the platform's retries and idempotent recording keep
nothing lost that a retry can bring back. A full queue refuses the offer, and the webhook
answers 503 so that the platform delivers again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from hub.model import Checkpoint, Sink, SinkItem, utcnow

logger = logging.getLogger(__name__)

#: Checkpoint key of the last delivery written (JSON: ``{"at": ISO time, ...}``).
WEBHOOK_KEY = "webhook"
#: Deliveries handed to `write` at a time.
DEFAULT_BATCH = 100

T = TypeVar("T")
#: Writes a batch into the sink; returns what the ``webhook`` note should add to ``at``.
Write = Callable[[Sequence[T], Sink], Awaitable[Mapping[str, object]]]


class Parsed(Protocol):
    """A delivery the webhook already turned into what the store takes."""

    @property
    def items(self) -> Sequence[SinkItem]: ...


async def put_items(batch: Sequence[Parsed], sink: Sink) -> Mapping[str, object]:
    """The `Write` of platforms whose webhook already parsed each delivery into items."""
    for delivery in batch:
        for item in delivery.items:
            await sink.put(item)
    return {}


class WebhookInbox(Generic[T]):
    """Verified deliveries of one account waiting to be written, and the task that writes them."""

    def __init__(
        self, *, source: str, sink: Sink | None, size: int, write: Write[T], batch: int = DEFAULT_BATCH
    ) -> None:
        self.source = source
        self.sink = sink
        self.write = write
        self.batch = batch
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=size)
        self._task: asyncio.Task[None] | None = None

    def offer(self, delivery: T) -> bool:
        """Queue a delivery; False when there is no sink or the queue is full."""
        if self.sink is None:
            return False
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            return False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"{self.source}:webhook")
        return True

    async def _run(self) -> None:
        assert self.sink is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < self.batch:
                batch.append(self._queue.get_nowait())
            try:
                extra = await self.write(batch, self.sink)
                note = json.dumps({**extra, "at": utcnow().isoformat()})
                await self.sink.put(Checkpoint(source=self.source, key=WEBHOOK_KEY, value=note))
            except Exception:  # one bad delivery must not stop the inbox
                logger.exception("%s: webhook deliveries not written", self.source)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued delivery is handed to the sink."""
        if self._task is not None and not self._task.done():
            await self._queue.join()

    async def close(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
