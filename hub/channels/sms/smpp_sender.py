"""Sending SMS over an SMPP gateway's bind (the one its adapter holds), touches first.

Order of a send: the outgoing touch (queued) is put and **flushed** — committed before the
SMSC sees a byte (concurrent sends share one commit); a token is taken from the gateway's
bucket; the text becomes its submit_sm PDUs (parts behind a UDH, parts with SAR TLVs, or
one message_payload: the gateway's `long_messages`) and each goes through the session's
client, within its window (throttling shrinks the window and retries, in `SmppClient`). Each
submit_sm_resp tells the `ReceiptMatcher` the SMSC's id of that part, which applies any
receipt that overtook it. Outcomes:

- every part taken → `sent`, with the SMSC ids as detail;
- a part refused (any other command_status, or generic_nack) → `failed`, `rejected: …`;
- throttling outlasting the retries → `failed`, `not taken: …` (nothing was accepted);
- no answer, or the link dropped with the PDU outstanding → the message is **unknown**:
  it stays `queued`, a history row says why, `ChannelTimeout` is raised and nothing is
  sent again; it stays pending in the outbox as unknown, and a later receipt still resolves
  it — by its SMSC id when one came (indexed in the store as each part is taken, so also
  after a restart), else as the one unknown message to the receipt's number;
- no bind at all (down, refused) → `failed`, `not submitted: …`, and the error is raised.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from hub.channels.sms.kannel_sender import GatewayHooks
from hub.channels.sms.outgoing import check_message, commit_together, outgoing_touch
from hub.channels.sms.quiet_hours import Holder
from hub.channels.sms.smpp_client import SmppClient
from hub.channels.sms.smpp_pdu import SubmitSm, status_name
from hub.channels.sms.smpp_receipts import Resolved
from hub.channels.sms.smpp_session import SmppSession
from hub.channels.sms.smpp_submit import Addressing, LongMessages, build_submits
from hub.channels.sms.token_bucket import TokenBucket
from hub.errors import (
    ChannelConnectError,
    ChannelError,
    ChannelTimeout,
    ProtocolError,
    RateLimited,
)
from hub.model import (
    Channel,
    OutgoingMessage,
    RecipientResult,
    SendOutcome,
    SendResult,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)


class SmppSender:
    """A `Sender` over one SMPP gateway (``sms:NAME`` in `SENDERS`)."""

    channel = Channel.SMS

    def __init__(
        self,
        *,
        session: SmppSession,
        sender: str,
        bucket: TokenBucket | None = None,
        addressing: Addressing | None = None,
        holder: Holder | None = None,
        long_messages: LongMessages = LongMessages.UDH,
    ) -> None:
        self.session = session
        self.sender = sender
        self.bucket = bucket
        self.holder = holder
        self.long_messages = long_messages
        self._template = addressing or Addressing(source_addr=sender, destination_addr="")
        #: one per long message: 16 bits for SAR, the low 8 of it in a UDH
        self._references = itertools.cycle(range(1, 0x10000))

    @property
    def hooks(self) -> GatewayHooks:
        return self.session.hooks

    @property
    def gateway(self) -> str:
        return self.session.gateway

    @property
    def source(self) -> str:
        return self.session.source

    async def close(self) -> None:
        if self.holder is not None:
            await self.holder.close()
        await self.session.close()

    def outgoing_touch(self, message: OutgoingMessage, message_id: str) -> Touch:
        return outgoing_touch(
            message, message_id, source=self.source, gateway=self.gateway, sender=self.sender
        )

    async def _record(self, message_id: str, status: Status, detail: str) -> None:
        sink = self.session.sink
        if sink is not None:
            await sink.put(
                StatusUpdate(
                    source=self.source, external_id=message_id, status=status, at=utcnow(), detail=detail
                )
            )

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record, submit every part, record the answer; see the module doc."""
        message_id = check_message(message)
        to = message.to[0]
        addressing = Addressing(
            source_addr=self._template.source_addr,
            source_addr_ton=self._template.source_addr_ton,
            source_addr_npi=self._template.source_addr_npi,
            destination_addr=to.value.lstrip("+"),
            dest_addr_ton=self._template.dest_addr_ton,
            dest_addr_npi=self._template.dest_addr_npi,
        )
        submits = build_submits(
            message.body, addressing, reference=next(self._references), long_messages=self.long_messages
        )
        touch = self.outgoing_touch(message, message_id)
        sink = self.session.sink
        outbox = self.session.outbox
        if self.holder is not None:
            held = await self.holder.hold(message, touch, sink, self.send, outbox)
            if held is not None:
                return held
        if sink is not None:
            await sink.put(touch)
            await outbox.sending(message, message_id)
            await commit_together(sink)  # committed before the SMSC sees it: never lost, never twice
        async with outbox.submitting(message, message_id):
            if self.bucket is not None:
                await self.bucket.acquire()
            try:
                client = await self.session.client_for_send()
            except ChannelError as exc:
                await self._record(message_id, Status.FAILED, f"not submitted: {exc}")
                exc.external_id = message_id
                raise
            self.session.matcher.expect(message_id, len(submits))
            parts = len(submits)
            answers: list[tuple[str, list[Resolved]] | BaseException]
            if parts == 1:  # most SMS: no task per part
                try:
                    answers = [await self._submit(client, message_id, submits[0], parts)]
                except Exception as exc:
                    answers = [exc]
            else:
                answers = await asyncio.gather(
                    *(self._submit(client, message_id, pdu, parts) for pdu in submits),
                    return_exceptions=True,
                )
            return await self._answer(message, touch, answers)

    async def _submit(
        self, client: SmppClient, message_id: str, pdu: SubmitSm, parts: int
    ) -> tuple[str, list[Resolved]]:
        """One part: (the SMSC's id, receipts that were waiting for it); the id is indexed in
        the store, for receipts that come after a restart."""
        resp = await client.submit(pdu)
        if resp.command_status:
            raise ProtocolError(
                f"rejected: {status_name(resp.command_status)}", channel=self.source, external_id=message_id
            )
        await self.session.outbox.took(resp.message_id, message_id, parts)
        return resp.message_id, self.session.matcher.sent(message_id, resp.message_id)

    async def _answer(
        self, message: OutgoingMessage, touch: Touch, answers: list[tuple[str, list[Resolved]] | BaseException]
    ) -> SendResult:
        message_id = touch.external_id
        errors = [a for a in answers if isinstance(a, BaseException)]
        unexpected = [e for e in errors if not isinstance(e, ChannelError)]
        if unexpected:
            raise unexpected[0]
        unknown = [e for e in errors if isinstance(e, ChannelTimeout | ChannelConnectError)]
        throttled = [e for e in errors if isinstance(e, RateLimited)]
        refused = [e for e in errors if isinstance(e, ChannelError) and e not in unknown and e not in throttled]
        ids = [a[0] for a in answers if not isinstance(a, BaseException)]
        if refused or throttled:
            first = (refused or throttled)[0]
            detail = str(first) if refused else f"not taken: {first}"
            await self._record(message_id, Status.FAILED, detail)
            outcome = SendOutcome.PERMANENT_FAILURE if refused else SendOutcome.TEMPORARY_FAILURE
            return self._result(message, touch, outcome, reason=detail, code=None)
        if unknown:
            # The SMSC may have taken it: unknown, stays queued, never sent twice by us.
            detail = f"unknown: {unknown[0]}"
            await self._record(message_id, Status.QUEUED, detail)
            raise ChannelTimeout(
                f"no answer from the SMSC; the message is left unknown: {unknown[0]}",
                channel=self.source,
                external_id=message_id,
            )
        detail = "accepted: " + " ".join(ids)
        await self._record(message_id, Status.SENT, detail)
        for answer in answers:
            assert not isinstance(answer, BaseException)
            await self.session.apply(answer[1])
        return self._result(message, touch, SendOutcome.SENT, reason=detail, code=0)

    def _result(
        self, message: OutgoingMessage, touch: Touch, outcome: SendOutcome, *, reason: str, code: int | None
    ) -> SendResult:
        return SendResult(
            outcome=outcome,
            external_id=touch.external_id,
            code=code,
            reason=reason,
            recipients=tuple(
                RecipientResult(address=a, outcome=outcome, code=code, reason=reason) for a in message.to
            ),
            touch=touch,
        )
