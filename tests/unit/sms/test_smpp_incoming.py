"""deliver_sm → receipt or incoming SMS, and reassembly of long incoming messages."""

from __future__ import annotations

import pytest

from hub.channels.sms.smpp_incoming import (
    IncomingMessage,
    IncomingPart,
    Reassembler,
    SmppReceipt,
    interpret,
)
from hub.channels.sms.smpp_pdu import DeliverSm, Tlvs
from hub.channels.sms.udh import Concat, concat_udh
from hub.errors import MalformedPdu, ProtocolError
from hub.model import Status

RECEIPT_TEXT = b"id:6699 sub:001 dlvrd:000 submit date:2612061530 done date:2612061531 stat:UNDELIV err:001 text:"


@pytest.mark.parametrize(
    ("pdu", "message_id", "status"),
    [
        # TLVs win over the text
        (
            DeliverSm(
                sequence_number=1,
                esm_class=0x04,
                short_message=RECEIPT_TEXT,
                tlvs=Tlvs(receipted_message_id="1a2b", message_state=2),
            ),
            "1a2b",
            Status.DELIVERED,
        ),
        # text only
        (DeliverSm(sequence_number=1, esm_class=0x04, short_message=RECEIPT_TEXT), "6699", Status.FAILED),
        # TLVs only (some SMSCs send an empty text)
        (
            DeliverSm(
                sequence_number=1,
                esm_class=0x04,
                tlvs=Tlvs(receipted_message_id="77", message_state=8),
            ),
            "77",
            Status.FAILED,
        ),
        # text in message_payload
        (
            DeliverSm(sequence_number=1, esm_class=0x04, tlvs=Tlvs(message_payload=RECEIPT_TEXT)),
            "6699",
            Status.FAILED,
        ),
    ],
)
def test_receipts(pdu: DeliverSm, message_id: str, status: Status) -> None:
    result = interpret(pdu)
    assert isinstance(result, SmppReceipt)
    assert (result.message_id, result.status) == (message_id, status)


def test_receipt_without_id_or_state_is_refused() -> None:
    with pytest.raises(ProtocolError):
        interpret(DeliverSm(sequence_number=1, esm_class=0x04, short_message=b"nothing here"))


def test_incoming_plain_udh_and_sar() -> None:
    plain = interpret(
        DeliverSm(sequence_number=1, source_addr="7900", destination_addr="1234", data_coding=8,
                  short_message="Привет".encode("utf-16-be"))
    )
    assert plain == IncomingPart(source_addr="7900", destination_addr="1234", text="Привет")
    udh = interpret(
        DeliverSm(sequence_number=1, esm_class=0x40, short_message=concat_udh(9, 2, 2) + b"abc")
    )
    assert isinstance(udh, IncomingPart)
    assert udh.concat == Concat(reference=9, total=2, seqnum=2) and udh.text == "abc"
    sar = interpret(
        DeliverSm(
            sequence_number=1,
            short_message=b"xyz",
            tlvs=Tlvs(sar_msg_ref_num=300, sar_total_segments=3, sar_segment_seqnum=3),
        )
    )
    assert isinstance(sar, IncomingPart) and sar.concat == Concat(reference=300, total=3, seqnum=3)
    with pytest.raises(MalformedPdu):
        interpret(DeliverSm(sequence_number=1, esm_class=0x40, short_message=b"\x09\x00"))


def part(seqnum: int, text: str, *, ref: int = 5, total: int = 3, src: str = "7900") -> IncomingPart:
    return IncomingPart(
        source_addr=src,
        destination_addr="1234",
        text=text,
        concat=Concat(reference=ref, total=total, seqnum=seqnum),
    )


def test_reassembly_in_any_order_with_duplicates() -> None:
    r = Reassembler()
    assert r.add(part(3, "c"), 0.0) == []
    assert r.add(part(1, "a"), 1.0) == []
    assert r.add(part(1, "a"), 1.5) == []  # a repeated part (SMSC redelivery)
    assert r.add(part(1, "x", src="other"), 1.5) == []  # same ref, another sender: apart
    (done,) = r.add(part(2, "b"), 2.0)
    assert done == IncomingMessage(source_addr="7900", destination_addr="1234", text="abc", parts=3)
    assert r.pending == 1
    (single,) = r.add(IncomingPart(source_addr="1", destination_addr="2", text="hi"), 3.0)
    assert single.text == "hi" and single.complete


def test_parts_that_never_complete_are_handed_back_incomplete() -> None:
    r = Reassembler(timeout_s=10, max_pending=2)
    r.add(part(1, "a", ref=1), 0.0)
    r.add(part(2, "b", ref=2), 5.0)
    (evicted,) = r.add(part(1, "c", ref=3), 6.0)  # no room: the oldest goes
    assert (evicted.text, evicted.complete) == ("a", False)
    assert r.expire(14.0) == []
    (expired,) = r.expire(15.0)
    assert (expired.text, expired.complete) == ("b", False)
    assert r.pending == 1
