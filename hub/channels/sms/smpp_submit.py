"""The submit_sm PDUs that carry one text: encoded, split, each part behind a concatenation UDH."""

from __future__ import annotations

from dataclasses import dataclass

from hub.channels.sms.encoding import SmsEncoding, encode_parts
from hub.channels.sms.smpp_pdu import (
    ESM_UDHI,
    REGISTERED_DELIVERY_ALWAYS,
    REGISTERED_DELIVERY_NONE,
    SubmitSm,
)
from hub.channels.sms.udh import concat_udh


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
) -> tuple[SubmitSm, ...]:
    """One submit_sm per part of `text` (sequence number 0, set by the client on sending).

    A long message gets the 8-bit-reference UDH with `reference` (0-255) in every part and
    esm_class UDHI; a single part goes bare. `receipt` asks for a delivery receipt per part.
    """
    message = encode_parts(text, encoding=encoding, packed=packed)
    total = len(message.parts)
    submits: list[SubmitSm] = []
    for seqnum, part in enumerate(message.parts, start=1):
        udh = concat_udh(reference & 0xFF, total, seqnum) if total > 1 else b""
        submits.append(
            SubmitSm(
                sequence_number=0,
                source_addr=addressing.source_addr,
                source_addr_ton=addressing.source_addr_ton,
                source_addr_npi=addressing.source_addr_npi,
                destination_addr=addressing.destination_addr,
                dest_addr_ton=addressing.dest_addr_ton,
                dest_addr_npi=addressing.dest_addr_npi,
                esm_class=ESM_UDHI if udh else 0,
                registered_delivery=REGISTERED_DELIVERY_ALWAYS if receipt else REGISTERED_DELIVERY_NONE,
                data_coding=message.data_coding,
                short_message=udh + part.payload,
            )
        )
    return tuple(submits)
