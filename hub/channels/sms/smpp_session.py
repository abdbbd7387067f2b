"""One SMPP gateway's bind, shared by its capture adapter and its sender.

The factory builds one `SmppSession` per `kind = "smpp"` gateway. Under `touchhub serve`
the adapter (`SmppAdapter`, named ``sms:NAME``) runs `run(sink)`: bind as a transceiver,
read every deliver_sm — receipts become `StatusUpdate`s through the `ReceiptMatcher`,
incoming SMS become inbound touches (long ones reassembled, opt-out words marked and
confirmed) — and bind again with `hub.backoff` when the link drops. A refused bind is a
`ChannelAuthError`: the adapter stops (health `failed`) and senders get the same error.

The sender submits over the same bind (`client_for_send`). Where no adapter runs (the CLI
sending one SMS), the session binds on demand for the sender and unbinds on `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.backoff import BackoffPolicy
from hub.channels.sms.kannel_sender import GatewayHooks
from hub.channels.sms.outbox import Outbox, resolve_receipt
from hub.channels.sms.smpp_client import SmppClient, SmppSettings
from hub.channels.sms.smpp_incoming import (
    IncomingMessage,
    Reassembler,
    SmppReceipt,
    interpret,
)
from hub.channels.sms.smpp_pdu import DeliverSm
from hub.channels.sms.smpp_receipts import ReceiptMatcher, Resolved
from hub.channels.sms.webhooks import opted_out
from hub.errors import ChannelAuthError, ChannelConnectError, ChannelError, ProtocolError
from hub.model import (
    AdapterHealth,
    Address,
    AddressKind,
    Channel,
    Direction,
    OutgoingMessage,
    Quarantined,
    SendResult,
    Sink,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)

#: How often held receipts and half-received long messages are looked at.
HOUSEKEEPING_S = 1.0

Reply = Callable[[OutgoingMessage], Awaitable[SendResult]]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionTimers:
    """How long to wait for a bind, between binds, and for the parts of a long SMS."""

    bind_wait_s: float
    retry: BackoffPolicy
    reassembly_s: float = 300.0


def incoming_id(message: IncomingMessage, received_at: float) -> str:
    """A stable id for an incoming SMS (SMPP gives none): who, to whom, what, which second."""
    key = f"{message.source_addr}|{message.destination_addr}|{int(received_at)}|{message.text}"
    return "smpp-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


class SmppSession:
    """The bind of one gateway, its receipts and its incoming SMS."""

    def __init__(
        self,
        *,
        gateway: str,
        settings: SmppSettings,
        hooks: GatewayHooks,
        timers: SessionTimers,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.hooks = hooks
        self.timers = timers
        self.health = AdapterHealth(name=hooks.source)
        self.matcher = ReceiptMatcher()
        self.reassembler = Reassembler(timeout_s=timers.reassembly_s)
        #: where receipts, incoming SMS and the sender's touches go (the runtime's writer)
        self.sink: Sink | None = None
        #: how an opt-out is confirmed (the gateway's sender), set by the factory
        self.reply: Reply | None = None
        #: True once an adapter runs the bind; senders then wait for it instead of binding
        self.supervised = False
        self._clock = clock
        self._client: SmppClient | None = None
        self._up = asyncio.Event()
        self._refused: ChannelAuthError | None = None
        self._own_lock = asyncio.Lock()
        self._owned: SmppClient | None = None
        self._confirmations: set[asyncio.Task[None]] = set()

    @property
    def source(self) -> str:
        return self.hooks.source

    @property
    def outbox(self) -> Outbox:
        """The gateway's pending messages and SMSC ids, kept in the store through `sink`."""
        return Outbox(self.source, self.sink)

    # ------------------------------------------------------------ for the sender

    async def client_for_send(self) -> SmppClient:
        """The bound client; waits for the adapter's bind, or binds on demand without one."""
        if self._refused is not None:
            raise self._refused
        if not self.supervised:
            return await self._own_client()
        if self._up.is_set() and self._client is not None and self._client.connected:
            return self._client
        try:
            await asyncio.wait_for(self._up.wait(), self.timers.bind_wait_s)
        except TimeoutError as exc:
            if self._refused is not None:
                raise self._refused from exc
            raise ChannelConnectError(
                f"SMPP gateway {self.gateway} is not bound (waited {self.timers.bind_wait_s}s)",
                channel=self.source,
            ) from exc
        assert self._client is not None
        return self._client

    async def _own_client(self) -> SmppClient:
        async with self._own_lock:
            if self._owned is not None and self._owned.connected:
                return self._owned
            client = SmppClient(self.settings)
            try:
                await client.connect()
            except ChannelAuthError as exc:
                self._refused = exc
                raise
            self._owned = client
            return client

    async def close(self) -> None:
        """Unbind the sender's own bind, if it made one (the adapter's ends with the adapter)."""
        async with self._own_lock:
            if self._owned is not None:
                await self._owned.close()
                self._owned = None

    # ------------------------------------------------------------ for the adapter

    async def run(self, sink: Sink) -> None:
        """Bind, serve receipts and incoming SMS, bind again after a drop; until cancelled."""
        self.supervised = True
        self.sink = self.sink or sink
        backoff = self.timers.retry.start()
        self.health.starting()
        while True:
            client = SmppClient(self.settings)
            try:
                await client.connect()
            except ChannelAuthError as exc:
                self._refused = exc
                self.health.failed(exc)
                self._up.set()  # waiting senders wake up and see the refusal
                raise
            except ChannelError as exc:
                self.health.backoff(exc)
                logger.warning("%s: bind failed: %s", self.source, exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            self._refused = None
            self._client = client
            self._up.set()
            self.health.running()
            self.health.last_event_at = utcnow()
            backoff.healthy()
            try:
                error = await self._serve(client, sink)
            except asyncio.CancelledError:
                self._up.clear()
                with contextlib.suppress(ChannelError):
                    await client.close()
                await self._drain(client, sink)
                raise
            self._up.clear()
            await client.close()
            await self._drain(client, sink)
            self.health.backoff(error or ChannelConnectError("session ended", channel=self.source))
            await asyncio.sleep(backoff.next_delay())

    async def sync_once(self) -> None:
        """One bind and one enquire_link: raises when the gateway is down or refuses us."""
        client = SmppClient(self.settings)
        await client.connect()
        try:
            await client.enquire_link()
        finally:
            await client.close()
        self.health.last_event_at = utcnow()

    async def _serve(self, client: SmppClient, sink: Sink) -> ChannelError | None:
        closed = asyncio.create_task(client.wait_closed(), name=f"{self.source}:closed")
        try:
            swept = self._clock()
            while not closed.done():
                if self._clock() - swept >= HOUSEKEEPING_S:  # also while deliveries never stop
                    await self._housekeeping(sink)
                    swept = self._clock()
                if client.deliveries.empty():
                    try:  # a timer, not wait_for's task per wait: receipts often come one by one
                        async with asyncio.timeout(HOUSEKEEPING_S):
                            pdu = await client.deliveries.get()
                    except TimeoutError:
                        continue
                else:
                    pdu = client.deliveries.get_nowait()
                await self.deliver(pdu, sink)
            return closed.result()
        finally:
            closed.cancel()

    async def _drain(self, client: SmppClient, sink: Sink) -> None:
        """Everything the SMSC handed over (and was answered) before the link dropped."""
        while not client.deliveries.empty():
            await self.deliver(client.deliveries.get_nowait(), sink)

    async def _housekeeping(self, sink: Sink) -> None:
        now = self._clock()
        for receipt in self.matcher.expire(now):
            logger.warning("%s: receipt for unknown SMSC id %s kept", self.source, receipt.message_id)
            await sink.put(
                Quarantined(
                    source=self.source,
                    reason=f"delivery receipt for an SMSC id never answered to us: {receipt.status}",
                    raw=repr(receipt).encode("utf-8"),
                    external_id=receipt.message_id,
                )
            )
        for message in self.reassembler.expire(now):
            await self._incoming(message, sink)

    async def deliver(self, pdu: DeliverSm, sink: Sink) -> None:
        """One deliver_sm the SMSC handed over: a receipt → status update, else an incoming part."""
        self.health.last_event_at = utcnow()
        try:
            item = interpret(pdu)
        except (ProtocolError, ValueError) as exc:
            self.health.count("malformed")
            await sink.put(
                Quarantined(source=self.source, reason=f"deliver_sm not understood: {exc}", raw=repr(pdu).encode())
            )
            return
        if isinstance(item, SmppReceipt):
            self.health.count("receipts")
            await self.apply(await resolve_receipt(self.matcher, self.outbox, item, self._clock()))
            return
        for message in self.reassembler.add(item, self._clock()):
            await self._incoming(message, sink)

    async def apply(self, resolved: list[Resolved]) -> None:
        """Receipts matched to our messages → status updates."""
        sink = self.sink
        if sink is None:
            return
        for r in resolved:
            await sink.put(
                StatusUpdate(
                    source=self.source, external_id=r.message_id, status=r.status, at=utcnow(), detail=r.detail
                )
            )

    async def _incoming(self, message: IncomingMessage, sink: Sink) -> None:
        self.health.count("incoming")
        external_id = incoming_id(message, time.time())
        touch = Touch(
            source=self.source,
            external_id=external_id,
            channel=Channel.SMS,
            direction=Direction.IN,
            status=Status.RECEIVED,
            occurred_at=utcnow(),
            counterparts=(Address(kind=AddressKind.PHONE, value=message.source_addr),),
            preview=message.text,
            metadata={
                "gateway": self.gateway,
                "to": message.destination_addr,
                "parts": message.parts,
                **({} if message.complete else {"incomplete": True}),
            },
        )
        opt_out = self.hooks.is_opt_out(message.text)
        if opt_out:
            touch = opted_out(touch)
        await sink.put(touch)
        if opt_out and self.hooks.opt_out_reply and self.reply is not None:
            confirmation = OutgoingMessage(
                channel=Channel.SMS,
                to=touch.counterparts,
                body=self.hooks.opt_out_reply,
                message_id=f"optout-{external_id}",
                metadata={"reply_to": external_id},
            )
            task = asyncio.create_task(self._confirm(confirmation), name=f"{self.source}:opt-out")
            self._confirmations.add(task)
            task.add_done_callback(self._confirmations.discard)

    async def _confirm(self, confirmation: OutgoingMessage) -> None:
        assert self.reply is not None
        try:
            await self.reply(confirmation)
        except ChannelError as exc:
            logger.warning("%s: opt-out confirmation not sent: %s", self.source, exc)
