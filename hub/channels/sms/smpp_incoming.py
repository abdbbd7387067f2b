"""What a deliver_sm means (a receipt for a message we sent, or an incoming SMS), sans-IO.

`interpret` reads one deliver_sm; `Reassembler` joins the parts of a long incoming message
(UDH concatenation or SAR TLVs) and gives up on parts that never complete after a while,
handing back what arrived rather than losing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.channels.sms.delivery_receipt import STATE_STATUS, DeliveryReceipt, parse_receipt
from hub.channels.sms.encoding import decode_payload
from hub.channels.sms.smpp_pdu import ESM_UDHI, DeliverSm
from hub.channels.sms.udh import Concat, split_udh
from hub.errors import ProtocolError
from hub.model import Status

#: Seconds to wait for the missing parts of a long incoming message.
REASSEMBLY_TIMEOUT_S = 300.0
#: Long messages being assembled at once; the oldest is given up beyond this.
MAX_PENDING_MESSAGES = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppReceipt:
    """A delivery receipt: which of our messages, and what became of it."""

    message_id: str
    status: Status
    source_addr: str
    destination_addr: str
    state: int | None = None
    receipt: DeliveryReceipt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingPart:
    """An incoming SMS, or one part of a long one (`concat` says which)."""

    source_addr: str
    destination_addr: str
    text: str
    concat: Concat | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingMessage:
    """A whole incoming SMS; `complete` is False when parts were given up on."""

    source_addr: str
    destination_addr: str
    text: str
    parts: int = 1
    complete: bool = True


def interpret(pdu: DeliverSm) -> SmppReceipt | IncomingPart:
    """Read a deliver_sm; raises `ProtocolError` (or `MalformedPdu`) when it makes no sense."""
    if pdu.is_receipt:
        return _receipt(pdu)
    payload = pdu.short_message or pdu.tlvs.message_payload or b""
    concat: Concat | None = None
    if pdu.esm_class & ESM_UDHI:
        header, payload = split_udh(payload)
        concat = header.concat
    elif pdu.tlvs.sar_msg_ref_num is not None and pdu.tlvs.sar_total_segments:
        concat = Concat(
            reference=pdu.tlvs.sar_msg_ref_num,
            total=pdu.tlvs.sar_total_segments,
            seqnum=pdu.tlvs.sar_segment_seqnum or 1,
        )
    return IncomingPart(
        source_addr=pdu.source_addr,
        destination_addr=pdu.destination_addr,
        text=decode_payload(payload, pdu.data_coding),
        concat=concat,
    )


def _receipt(pdu: DeliverSm) -> SmppReceipt:
    # Receipt text is ASCII whatever data_coding claims; Latin-1 never fails to decode.
    text = (pdu.short_message or pdu.tlvs.message_payload or b"").decode("latin-1")
    parsed: DeliveryReceipt | None
    try:
        parsed = parse_receipt(text)
    except ProtocolError:
        parsed = None
    message_id = pdu.tlvs.receipted_message_id or (parsed.message_id if parsed else None)
    state = pdu.tlvs.message_state
    if not message_id or (state is None and parsed is None):
        raise ProtocolError(f"delivery receipt without id or state: {text[:80]!r}", channel="sms")
    if state is not None:
        status = STATE_STATUS.get(state, Status.SENT)
    else:
        assert parsed is not None
        status = parsed.status
    return SmppReceipt(
        message_id=message_id,
        status=status,
        source_addr=pdu.source_addr,
        destination_addr=pdu.destination_addr,
        state=state,
        receipt=parsed,
    )


@dataclass(slots=True)
class _Pending:
    first_seen: float
    total: int
    parts: dict[int, str] = field(default_factory=dict)


class Reassembler:
    """Joins parts of long incoming messages; `add` and `expire` take the time from the caller."""

    def __init__(
        self, *, timeout_s: float = REASSEMBLY_TIMEOUT_S, max_pending: int = MAX_PENDING_MESSAGES
    ) -> None:
        self._timeout = timeout_s
        self._max_pending = max_pending
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, part: IncomingPart, now: float) -> list[IncomingMessage]:
        """Messages completed (or given up on to make room) by this part."""
        if part.concat is None or part.concat.total <= 1:
            return [_whole(part.source_addr, part.destination_addr, {1: part.text}, 1)]
        c = part.concat
        key = (part.source_addr, part.destination_addr, c.reference, c.total)
        pending = self._pending.get(key)
        out: list[IncomingMessage] = []
        if pending is None:
            if len(self._pending) >= self._max_pending:
                oldest = min(self._pending, key=lambda k: self._pending[k].first_seen)
                out.append(self._give_up(oldest))
            pending = self._pending[key] = _Pending(first_seen=now, total=c.total)
        pending.parts[c.seqnum] = part.text  # a repeated part replaces the earlier copy
        if len(pending.parts) == pending.total:
            del self._pending[key]
            out.append(_whole(key[0], key[1], pending.parts, pending.total))
        return out

    def expire(self, now: float) -> list[IncomingMessage]:
        """Give up on messages whose parts have waited longer than the timeout."""
        stale = [k for k, p in self._pending.items() if now - p.first_seen >= self._timeout]
        return [self._give_up(k) for k in stale]

    def _give_up(self, key: tuple[str, str, int, int]) -> IncomingMessage:
        pending = self._pending.pop(key)
        return _whole(key[0], key[1], pending.parts, pending.total)


def _whole(source: str, destination: str, parts: dict[int, str], total: int) -> IncomingMessage:
    return IncomingMessage(
        source_addr=source,
        destination_addr=destination,
        text="".join(parts[i] for i in sorted(parts)),
        parts=total,
        complete=len(parts) == total,
    )
