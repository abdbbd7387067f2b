"""The submit_sm PDUs that carry one text: encoded, and split the way the gateway asks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.channels.sms.encoding import SmsEncoding, encode_parts, pack_septets
from hub.channels.sms.smpp_pdu import (
    ESM_UDHI,
    NO_TLVS,
    REGISTERED_DELIVERY_ALWAYS,
    REGISTERED_DELIVERY_NONE,
    SubmitSm,
    Tlvs,
)
from hub.channels.sms.udh import concat_udh


class LongMessages(StrEnum):
    """How a text longer than one SMS goes to the SMSC (`long_messages` of a gateway)."""

    #: one submit_sm per part, each behind a concatenation UDH (8-bit reference), esm_class UDHI
    UDH = "udh"
    #: one submit_sm per part, numbered by the sar_msg_ref_num / sar_total_segments /
    #: sar_segment_seqnum TLVs (16-bit reference); the SMSC builds the UDH
    SAR = "sar"
    #: one submit_sm with the whole text in the message_payload TLV; the SMSC splits it
    PAYLOAD = "payload"


@dataclass(frozen=True, slots=True, kw_only=True)
class Addressing:
    """Who sends to whom, with type of number / numbering plan (SMPP 3.4 5.2.5, 5.2.6)."""

    source_addr: str
    destination_addr: str
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1  # international
    dest_addr_npi: int = 1  # E.164


def build_submits(
    text: str,
    addressing: Addressing,
    *,
    reference: int,
    receipt: bool = True,
    encoding: SmsEncoding | None = None,
    packed: bool = False,
    long_messages: LongMessages = LongMessages.UDH,
) -> tuple[SubmitSm, ...]:
    """The submit_sm PDUs of `text` (sequence number 0, set by the client on sending).

    A text that fits one SMS is one bare submit_sm whatever `long_messages` says. A longer
    one goes as `long_messages` asks: parts behind a UDH carrying `reference & 0xFF`, parts
    with SAR TLVs carrying `reference & 0xFFFF`, or one PDU with a message_payload. The
    parts are cut where the handset's parts will be (153 septets / 67 UCS-2 units), never
    inside an escape or a surrogate pair. `receipt` asks for a delivery receipt per PDU.
    """
    message = encode_parts(text, encoding=encoding, packed=packed and long_messages is LongMessages.UDH)
    total = len(message.parts)
    registered = REGISTERED_DELIVERY_ALWAYS if receipt else REGISTERED_DELIVERY_NONE

    def submit(short_message: bytes, *, esm_class: int = 0, tlvs: Tlvs = NO_TLVS) -> SubmitSm:
        return SubmitSm(
            sequence_number=0,
            source_addr=addressing.source_addr,
            source_addr_ton=addressing.source_addr_ton,
            source_addr_npi=addressing.source_addr_npi,
            destination_addr=addressing.destination_addr,
            dest_addr_ton=addressing.dest_addr_ton,
            dest_addr_npi=addressing.dest_addr_npi,
            esm_class=esm_class,
            registered_delivery=registered,
            data_coding=message.data_coding,
            short_message=short_message,
            tlvs=tlvs,
        )

    if total == 1:
        return (submit(message.parts[0].payload),)
    if long_messages is LongMessages.PAYLOAD:
        whole = b"".join(part.payload for part in message.parts)
        if packed and message.encoding is SmsEncoding.GSM7:
            whole = pack_septets(whole)
        return (submit(b"", tlvs=Tlvs(message_payload=whole)),)
    if long_messages is LongMessages.SAR:
        return tuple(
            submit(
                part.payload,
                tlvs=Tlvs(
                    sar_msg_ref_num=reference & 0xFFFF,
                    sar_total_segments=total,
                    sar_segment_seqnum=seqnum,
                ),
            )
            for seqnum, part in enumerate(message.parts, start=1)
        )
    return tuple(
        submit(concat_udh(reference & 0xFF, total, seqnum) + part.payload, esm_class=ESM_UDHI)
        for seqnum, part in enumerate(message.parts, start=1)
    )
