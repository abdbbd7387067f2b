"""What of an outgoing SMS survives a restart: held and in-flight messages, gateway ids.

Kept as checkpoints (decision 0054), put into the sink beside the touch they concern and
committed with it — no commit of their own:

- source ``sms:NAME/outbox``, key = our message id: a message **held** for quiet hours
  (with when it may go), being **sent** (submitted, no answer yet), or left **unknown**
  (no answer came: the gateway may have it). The value carries the message itself, so
  another process can release, resolve or resend it. Removed once the gateway answered.
  `pending()` lists them: few at any time, whatever the volume sent.
- source ``sms:NAME``, key ``gwid:<gateway's id>``: our id and the message's number of
  parts, for every part the gateway took. A receipt for a message sent before a restart
  finds its message here (`ReceiptIndex`), in any spelling of the id.

Every entry names the process (and run of the hub) that wrote it (`owner`); the gateway's
outbox adapter, under its lease, takes over the entries of other owners
(`hub.channels.sms.outbox_adapter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from hub.channels.sms.delivery_receipt import id_forms
from hub.channels.sms.encoding import count_segments
from hub.channels.sms.smpp_incoming import SmppReceipt
from hub.channels.sms.smpp_receipts import ReceiptMatcher, Resolved
from hub.errors import ChannelTimeout
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Checkpoint,
    OutgoingMessage,
    Sink,
    Status,
    utcnow,
)

#: id(sink) → the owner token of the entries written through it (one per running hub).
_OWNERS: dict[int, str] = {}


def owner_of(sink: Sink | None) -> str:
    """Who writes through `sink`: this process and this run of the hub (its writer)."""
    if sink is None:
        return f"{os.getpid()}"
    owner = _OWNERS.get(id(sink))
    if owner is None:
        owner = _OWNERS[id(sink)] = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # a sink that cannot be referred to weakly keeps its entry as long as we live
        with contextlib.suppress(TypeError):
            weakref.finalize(sink, _OWNERS.pop, id(sink), None)
    return owner


#: Metadata key: how many times a message has been submitted (a resend after "unknown" is 2).
ATTEMPT_KEY = "attempt"
#: Key prefix of the gateway-id index.
GATEWAY_ID_PREFIX = "gwid:"


class PendingState(StrEnum):
    """Where an outgoing message stands while the gateway has not answered for it."""

    HELD = "held"  # waiting for the end of quiet hours
    SENDING = "sending"  # submitted (or about to be), no answer yet
    UNKNOWN = "unknown"  # no answer came: the gateway may have it; a receipt may still say


@runtime_checkable
class CheckpointScan(Protocol):
    """A sink that can list checkpoints (the store's writer can)."""

    async def checkpoints_under(self, source: str, prefix: str) -> dict[str, str]: ...


def pending_source(source: str) -> str:
    """Checkpoint source of a gateway's pending messages."""
    return f"{source}/outbox"


def attempt_of(message: OutgoingMessage) -> int:
    """Which submission of `message` this is (1 unless it is a resend)."""
    try:
        return max(1, int(message.metadata.get(ATTEMPT_KEY, 1)))
    except (TypeError, ValueError):
        return 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """One pending message, as stored."""

    message_id: str
    state: PendingState
    to: str
    body: str
    at: datetime
    owner: str = ""
    until: datetime | None = None
    attempt: int = 1
    employee: tuple[str, str] | None = None  # (kind, value) of who sent it
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        message: OutgoingMessage,
        message_id: str,
        state: PendingState,
        *,
        until: datetime | None = None,
        owner: str = "",
    ) -> Pending:
        sender = message.sender
        return cls(
            message_id=message_id,
            state=state,
            to=message.to[0].value,
            body=message.body,
            at=utcnow(),
            owner=owner,
            until=until,
            attempt=attempt_of(message),
            employee=None if sender is None else (sender.kind.value, sender.value),
            metadata=dict(message.metadata),
        )

    def message(self, metadata: Mapping[str, Any] | None = None) -> OutgoingMessage:
        """The message to send again, `metadata` added (its id is ours: the touch stays one)."""
        sender = None if self.employee is None else Address(kind=AddressKind(self.employee[0]), value=self.employee[1])
        return OutgoingMessage(
            channel=Channel.SMS,
            to=(Address(kind=AddressKind.PHONE, value=self.to),),
            body=self.body,
            sender=sender,
            message_id=self.message_id,
            metadata={**self.metadata, **(metadata or {})},
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "state": self.state.value,
                "to": self.to,
                "body": self.body,
                "at": self.at.isoformat(),
                "owner": self.owner,
                "until": None if self.until is None else self.until.isoformat(),
                "attempt": self.attempt,
                "employee": self.employee,
                "metadata": self.metadata,
            },
            ensure_ascii=False,
            default=str,
        )

    @classmethod
    def from_json(cls, message_id: str, value: str) -> Pending:
        data = json.loads(value)
        employee = data.get("employee")
        return cls(
            message_id=message_id,
            state=PendingState(data["state"]),
            to=str(data["to"]),
            body=str(data["body"]),
            at=datetime.fromisoformat(data["at"]),
            owner=str(data["owner"]),
            until=datetime.fromisoformat(data["until"]) if data.get("until") else None,
            attempt=int(data.get("attempt", 1)),
            employee=None if not employee else (str(employee[0]), str(employee[1])),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclass(frozen=True, slots=True)
class Taken:
    """What the gateway-id index says of one gateway id."""

    message_id: str
    parts: int


class Outbox:
    """A gateway's pending messages and gateway ids, kept in the store through its sink."""

    def __init__(self, source: str, sink: Sink | None) -> None:
        self.source = source
        self.sink = sink
        self.owner = owner_of(sink)

    # ------------------------------------------------------------ pending messages

    async def put(self, entry: Pending) -> None:
        """Put `entry` (committed with the next flush of the sink)."""
        if self.sink is not None:
            await self.sink.put(Checkpoint(source=pending_source(self.source), key=entry.message_id, value=entry.to_json()))

    async def hold(self, message: OutgoingMessage, message_id: str, until: datetime) -> None:
        await self.put(Pending.of(message, message_id, PendingState.HELD, until=until, owner=self.owner))

    async def sending(self, message: OutgoingMessage, message_id: str) -> None:
        await self.put(Pending.of(message, message_id, PendingState.SENDING, owner=self.owner))

    async def unknown(self, message: OutgoingMessage, message_id: str) -> None:
        await self.put(Pending.of(message, message_id, PendingState.UNKNOWN, owner=self.owner))

    @asynccontextmanager
    async def submitting(self, message: OutgoingMessage, message_id: str) -> AsyncIterator[None]:
        """Around a submission (after `sending` was committed): no answer (`ChannelTimeout`)
        → unknown; any other end → settled. Cancelled (the process stops) → left sending,
        for the next process to take as unknown."""
        try:
            yield
        except ChannelTimeout:
            await self.unknown(message, message_id)
            raise
        except asyncio.CancelledError:
            raise
        except BaseException:
            await self.settled(message_id)
            raise
        await self.settled(message_id)

    async def settled(self, message_id: str) -> None:
        """The gateway answered for `message_id` (or it was given up): not pending any more."""
        if self.sink is not None:
            await self.sink.put(Checkpoint(source=pending_source(self.source), key=message_id, value=""))

    async def get(self, message_id: str) -> Pending | None:
        """The committed entry of `message_id`, if it is pending."""
        if self.sink is None:
            return None
        value = await self.sink.load_checkpoint(pending_source(self.source), message_id)
        return Pending.from_json(message_id, value) if value else None

    async def pending(self) -> list[Pending]:
        """Every committed pending message of the gateway (none without a listing sink)."""
        if not isinstance(self.sink, CheckpointScan):
            return []
        found = await self.sink.checkpoints_under(pending_source(self.source), "")
        return [Pending.from_json(k, v) for k, v in sorted(found.items()) if v]

    # ------------------------------------------------------------ gateway ids

    async def took(self, gateway_id: str, message_id: str, parts: int) -> None:
        """The gateway took (a part of) `message_id` as `gateway_id`."""
        if self.sink is not None:
            await self.sink.put(
                Checkpoint(source=self.source, key=GATEWAY_ID_PREFIX + gateway_id, value=f"{parts} {message_id}")
            )

    async def find(self, gateway_id: str, *, spellings: bool = True) -> tuple[str, Taken] | None:
        """(the id as the gateway gave it, what it was) for a receipt's `gateway_id`, trying
        every spelling (hex, decimal) unless `spellings` is False."""
        if self.sink is None:
            return None
        forms: Iterable[str] = [gateway_id, *sorted(id_forms(gateway_id) - {gateway_id})] if spellings else [gateway_id]
        for form in forms:
            value = await self.sink.load_checkpoint(self.source, GATEWAY_ID_PREFIX + form)
            if value:
                parts, _, message_id = value.partition(" ")
                return form, Taken(message_id=message_id, parts=int(parts))
        return None


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def unknown_for(entries: Iterable[Pending], recipient: str, text: str) -> Pending | None:
    """The one unknown message a receipt from `recipient` (quoting `text`, the first
    characters of the message, when the gateway gives them) can be about; None when there
    is none, or more than one."""
    number = digits(recipient)
    found = [
        e
        for e in entries
        if e.state is PendingState.UNKNOWN
        and number
        and digits(e.to).endswith(number[-10:])
        and (not text or e.body.startswith(text))
    ]
    return found[0] if len(found) == 1 else None


async def resolve_receipt(
    matcher: ReceiptMatcher, outbox: Outbox, receipt: SmppReceipt, now: float
) -> list[Resolved]:
    """What `receipt` means, also for a message this process did not send: one the
    gateway-id index knows (sent before a restart), or — SMPP, where ids have spellings —
    the one unknown message to the receipt's number (its id never reached us). A receipt
    still unmatched is held by the matcher for the submit response that may name it."""
    out: list[Resolved] = []
    unknown: Pending | None = None
    if outbox.sink is not None and not matcher.knows(receipt.message_id):
        found = await outbox.find(receipt.message_id, spellings=matcher.spellings)
        if found is not None:
            gateway_id, taken = found
            out += matcher.restore(taken.message_id, taken.parts, gateway_id)
        elif matcher.spellings:
            quoted = receipt.receipt.text if receipt.receipt is not None else ""
            unknown = unknown_for(await outbox.pending(), receipt.source_addr, quoted)
            if unknown is not None:
                parts = count_segments(unknown.body).parts
                out += matcher.restore(unknown.message_id, parts, receipt.message_id)
                await outbox.took(receipt.message_id, unknown.message_id, parts)
    resolved = matcher.receipt(receipt, now)
    if unknown is not None and any(r.status in FINAL for r in resolved):
        await outbox.settled(unknown.message_id)
    return out + resolved


#: Statuses after which a message waits for nothing more.
FINAL = frozenset({Status.DELIVERED, Status.FAILED})
