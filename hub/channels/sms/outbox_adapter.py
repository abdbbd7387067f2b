"""`sms:NAME:outbox`: under its lease, one process takes up what other processes left pending.

Every `scan_s` the adapter lists the gateway's pending messages (`hub.channels.sms.outbox`)
and takes over those left by another process — one that was restarted, killed, or stands
by — or by a send of its own that never ended (cancelled):

- **held** (quiet hours): taken over (the entry now names this process, committed first),
  then held here and sent when its hour comes. The process that held it first finds the
  entry no longer its own when its hour comes and sends nothing: sent once.
- **sending** for longer than `stale_s` (its process died between the submit and the
  answer): the gateway may have it. By default it becomes **unknown** — still queued, a
  history row says why, never resent; a later receipt resolves it. A gateway with
  `resend_unknown = true` sends it again instead, once (a message already resent stays
  unknown).
- **unknown** for longer than `UNKNOWN_KEPT`: no receipt will come any more; let go.

`stale_s` must exceed the longest a live process may wait for an answer (bucket, bind and
response timeouts), or a slow send of a live process would be taken for a dead one's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from hub.channels.sms.outbox import ATTEMPT_KEY, Outbox, Pending, PendingState
from hub.channels.sms.quiet_hours import Holder
from hub.errors import ChannelError
from hub.model import AdapterHealth, OutgoingMessage, SendResult, Sink, Status, StatusUpdate, utcnow

logger = logging.getLogger(__name__)

#: How long an unknown message waits for a receipt before it is let go.
UNKNOWN_KEPT = timedelta(days=7)
#: History detail of a message whose process stopped before the gateway answered.
UNKNOWN_DETAIL = "unknown: the hub stopped before the gateway answered"


class OutboxSender(Protocol):
    """What the adapter needs of its gateway's sender."""

    @property
    def holder(self) -> Holder | None: ...

    async def send(self, message: OutgoingMessage) -> SendResult: ...


class OutboxAdapter:
    """A `CaptureAdapter` (single-consumer) that keeps the gateway's outbox moving."""

    single_consumer = True

    def __init__(
        self,
        *,
        source: str,
        sender: Callable[[Sink], OutboxSender],
        scan_s: float,
        stale_s: float,
        resend_unknown: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.source = source
        self.name = f"{source}:outbox"
        self.health = AdapterHealth(name=self.name)
        self.scan_s = scan_s
        self.stale = timedelta(seconds=stale_s)
        self.resend_unknown = resend_unknown
        self.clock = clock
        self._sender = sender
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, sink: Sink) -> None:
        sender = self._sender(sink)
        outbox = Outbox(self.source, sink)
        try:
            while True:
                await self.sweep(sender, outbox)
                await asyncio.sleep(self.scan_s)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def sync_once(self, sink: Sink) -> None:
        """Nothing to catch up on: pending messages are taken up by `serve`."""

    async def sweep(self, sender: OutboxSender, outbox: Outbox) -> None:
        """Take over what other processes left pending (see the module doc)."""
        now = self.clock()
        for entry in await outbox.pending():
            if entry.state is PendingState.UNKNOWN:
                if now - entry.at >= UNKNOWN_KEPT:
                    await outbox.settled(entry.message_id)
                continue
            if entry.state is PendingState.HELD:
                if entry.owner != outbox.owner:  # this run's own wait in its holder
                    await self._take_held(entry, sender, outbox)
            elif now - entry.at >= self.stale:  # no send waits this long, not even ours
                await self._take_unknown(entry, sender, outbox)

    async def _take_held(self, entry: Pending, sender: OutboxSender, outbox: Outbox) -> None:
        assert outbox.sink is not None
        await outbox.put(replace(entry, owner=outbox.owner))
        await outbox.sink.flush()  # ours before we wait: its first holder lets it go
        self.health.count("held taken over")
        self.health.last_event_at = utcnow()
        message = entry.message()
        holder = sender.holder
        if holder is not None and entry.until is not None:
            holder.resume(message, entry.until, sender.send, outbox)
        else:  # quiet hours were switched off meanwhile: it may go now
            self._spawn(self._send(sender, message))

    async def _take_unknown(self, entry: Pending, sender: OutboxSender, outbox: Outbox) -> None:
        assert outbox.sink is not None
        await outbox.sink.put(
            StatusUpdate(
                source=self.source,
                external_id=entry.message_id,
                status=Status.QUEUED,
                at=utcnow(),
                detail=UNKNOWN_DETAIL,
            )
        )
        self.health.last_event_at = utcnow()
        if self.resend_unknown and entry.attempt < 2:
            # ours, sending: no other process takes it meanwhile; the send writes it again
            await outbox.put(replace(entry, owner=outbox.owner, at=utcnow()))
            await outbox.sink.flush()
            self.health.count("resent")
            logger.warning("%s: message %s left unknown by a stopped process; sending it again", self.source, entry.message_id)
            self._spawn(self._send(sender, entry.message({ATTEMPT_KEY: entry.attempt + 1})))
            return
        await outbox.put(replace(entry, state=PendingState.UNKNOWN, owner=outbox.owner, at=utcnow()))
        self.health.count("unknown")
        logger.warning("%s: message %s left unknown by a stopped process; not resent", self.source, entry.message_id)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"{self.name}:send")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, sender: OutboxSender, message: OutgoingMessage) -> None:
        try:
            await sender.send(message)
        except ChannelError as exc:  # recorded by the sender
            logger.warning("%s: message %s not sent: %s", self.source, message.message_id, exc)
