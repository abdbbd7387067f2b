"""The outgoing SMS as every sender records it: checked, keyed by our id, queued first."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.channels.sms.encoding import count_segments
from hub.errors import ValidationError
from hub.model import Channel, Direction, OutgoingMessage, Sink, Status, Touch, utcnow


def new_message_id() -> str:
    """Our id for an SMS that came without one."""
    return uuid.uuid4().hex


def check_message(message: OutgoingMessage) -> str:
    """Refuse what no gateway can send; our message id (given, or a new one)."""
    if message.channel is not Channel.SMS:
        raise ValidationError(f"{message.channel} message given to the SMS sender", field="channel")
    if len(message.to) != 1:
        raise ValidationError("one SMS goes to exactly one recipient", field="to")
    if not message.body:
        raise ValidationError("an SMS needs a text", field="body")
    return message.message_id or new_message_id()


def outgoing_touch(
    message: OutgoingMessage,
    message_id: str,
    *,
    source: str,
    gateway: str,
    sender: str,
    extra: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> Touch:
    """The touch of `message` as recorded before it is submitted: queued."""
    count = count_segments(message.body)
    metadata = {
        **message.metadata,
        "gateway": gateway,
        "from": sender,
        "encoding": count.encoding.value,
        "parts": count.parts,
        **(extra or {}),
    }
    return Touch(
        source=source,
        external_id=message_id,
        channel=Channel.SMS,
        direction=Direction.OUT,
        status=Status.QUEUED,
        occurred_at=at or utcnow(),
        counterparts=message.to,
        employee=message.sender,
        preview=message.body,
        metadata=metadata,
    )


class _SharedFlush:
    """Group commit: at most one flush in flight; who asks meanwhile shares the next one."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._next: asyncio.Future[None] | None = None
        self._running: asyncio.Future[None] | None = None

    async def __call__(self) -> None:
        if self._next is None:
            self._next = asyncio.ensure_future(self._run(self._running))
        await asyncio.shield(self._next)

    async def _run(self, previous: asyncio.Future[None] | None) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)  # everyone arriving meanwhile joins this one
        await asyncio.sleep(0)  # the other senders of this turn put their touches first
        self._running, self._next = self._next, None
        try:
            await self.sink.flush()
        finally:
            if self._next is None and _FLUSHES.get(id(self.sink)) is self:
                del _FLUSHES[id(self.sink)]  # idle: nothing kept for a sink no one uses


#: id(sink) → its group commit while one is pending or running (the entry holds the sink,
#: so its id cannot be reused meanwhile)
_FLUSHES: dict[int, _SharedFlush] = {}


async def commit_together(sink: Sink) -> None:
    """Return once everything this caller put is committed, sharing the commit (one batch,
    one transaction) with every sender that asked at the same moment: a campaign's
    concurrent sends cost one commit per turn, not one each."""
    shared = _FLUSHES.get(id(sink))
    if shared is None or shared.sink is not sink:
        shared = _FLUSHES[id(sink)] = _SharedFlush(sink)
    await shared()
