"""SMPP 3.4 codec on bytes: known encodings, every split of the stream, malformed frames."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.channels.sms.smpp_pdu import (
    BindTransceiver,
    BindTransceiverResp,
    CommandStatus,
    DecodedItem,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduRejected,
    SmppDecoder,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
    Unbind,
    UnbindResp,
    UnknownPdu,
    decode,
    encode,
    is_delivery_receipt,
    status_name,
)
from hub.errors import MalformedPdu, ProtocolError, ValidationError


def h(text: str) -> bytes:
    """Hex with spaces and line breaks allowed."""
    return bytes.fromhex("".join(text.split()))


SUBMIT = SubmitSm(
    sequence_number=2,
    source_addr_ton=5,
    source_addr_npi=0,
    source_addr="Shop",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="79001234567",
    esm_class=0x40,
    registered_delivery=1,
    data_coding=8,
    short_message=h("050003 2a 02 01") + "Жук".encode("utf-16-be"),
)
SUBMIT_BYTES = h(
    """
    0000003c 00000004 00000000 00000002
    00
    05 00 53686f7000
    01 01 373930303132333435363700
    40 00 00 00 00
    01 00 08 00
    0c 0500032a0201 0416 0443 043a
    """
)
RECEIPT_TEXT = (
    b"id:1a2b sub:001 dlvrd:001 submit date:2612061530 done date:2612061531 "
    b"stat:DELIVRD err:000 text:"
)
RECEIPT = DeliverSm(
    sequence_number=7,
    source_addr="79001234567",
    destination_addr="Shop",
    esm_class=0x04,
    short_message=RECEIPT_TEXT,
    tlvs=Tlvs(receipted_message_id="1a2b", message_state=2),
)
RECEIPT_BYTES = (
    h(
        f"""
    {16 + 1 + 2 + 12 + 2 + 5 + 9 + 1 + len(RECEIPT_TEXT) + 9 + 5:08x} 00000005 00000000 00000007
    00 00 00 373930303132333435363700 00 00 5368 6f70 00
    04 00 00 00 00 00 00 00 00 {len(RECEIPT_TEXT):02x}
    """
    )
    + RECEIPT_TEXT
    + h("001e 0005 3161326200  0427 0001 02")
)

CASES: list[tuple[str, Pdu, bytes]] = [
    ("enquire_link", EnquireLink(sequence_number=1), h("00000010 00000015 00000000 00000001")),
    (
        "enquire_link_resp",
        EnquireLinkResp(sequence_number=1),
        h("00000010 80000015 00000000 00000001"),
    ),
    ("unbind", Unbind(sequence_number=9), h("00000010 00000006 00000000 00000009")),
    ("unbind_resp", UnbindResp(sequence_number=9), h("00000010 80000006 00000000 00000009")),
    (
        "generic_nack",
        GenericNack(sequence_number=3, command_status=CommandStatus.ESME_RINVCMDID),
        h("00000010 80000000 00000003 00000003"),
    ),
    (
        "bind_transceiver",
        BindTransceiver(sequence_number=1, system_id="test", password="pw"),
        h("0000001d 00000009 00000000 00000001 7465737400 707700 00 34 00 00 00"),
    ),
    (
        "bind_transceiver_resp",
        BindTransceiverResp(
            sequence_number=1, system_id="SMSC", tlvs=Tlvs(sc_interface_version=0x34)
        ),
        h("0000001a 80000009 00000000 00000001 534d534300 0210 0001 34"),
    ),
    (
        "bind_transceiver_resp refused, no body",
        BindTransceiverResp(sequence_number=1, command_status=CommandStatus.ESME_RBINDFAIL),
        h("00000010 80000009 0000000d 00000001"),
    ),
    ("submit_sm", SUBMIT, SUBMIT_BYTES),
    (
        "submit_sm_resp",
        SubmitSmResp(sequence_number=2, message_id="1a2b"),
        h("00000015 80000004 00000000 00000002 3161326200"),
    ),
    (
        "submit_sm_resp throttled",
        SubmitSmResp(sequence_number=2, command_status=CommandStatus.ESME_RTHROTTLED),
        h("00000010 80000004 00000058 00000002"),
    ),
    ("deliver_sm receipt", RECEIPT, RECEIPT_BYTES),
    ("deliver_sm_resp", DeliverSmResp(sequence_number=7), h("00000011 80000005 00000000 00000007 00")),
    (
        "unknown command (query_sm)",
        UnknownPdu(command_id=3, command_status=0, sequence_number=4, body=h("313200 00 00 00")),
        h("00000016 00000003 00000000 00000004 313200 00 00 00"),
    ),
]


@pytest.mark.parametrize(("name", "pdu", "wire"), CASES, ids=[c[0] for c in CASES])
def test_encode_and_decode_known_bytes(name: str, pdu: Pdu, wire: bytes) -> None:
    assert len(wire) == int.from_bytes(wire[:4], "big")
    assert encode(pdu) == wire
    assert decode(wire) == pdu


def test_every_split_of_the_stream_gives_the_same_pdus() -> None:
    stream = b"".join(wire for _, _, wire in CASES)
    expected: list[DecodedItem] = [pdu for _, pdu, _ in CASES]
    for size in range(1, len(stream) + 1):
        decoder = SmppDecoder()
        got: list[DecodedItem] = []
        for start in range(0, len(stream), size):
            got += decoder.feed(stream[start : start + size])
        assert got == expected, size
        assert decoder.buffered == 0


def test_receipt_fields_and_helpers() -> None:
    pdu = decode(RECEIPT_BYTES)
    assert isinstance(pdu, DeliverSm)
    assert pdu.is_receipt and is_delivery_receipt(0x04) and not is_delivery_receipt(0x40)
    assert pdu.tlvs.receipted_message_id == "1a2b"
    assert pdu.tlvs.message_state == 2
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x14) == "ESME_RMSGQFUL"
    assert status_name(0x0E) == "ESME_RINVPASWD"
    assert status_name(0x400) == "0x00000400"


def test_tlvs_round_trip_including_unknown_ones() -> None:
    pdu = SubmitSm(
        sequence_number=5,
        destination_addr="1",
        tlvs=Tlvs(
            sar_msg_ref_num=0x1234,
            sar_total_segments=3,
            sar_segment_seqnum=2,
            message_payload=b"x" * 300,
            user_message_reference=7,
            network_error_code=b"\x03\x00\x01",
            other=(Tlv(tag=0x1400, value=b"vendor"),),
        ),
    )
    wire = encode(pdu)
    assert h("020c 0002 1234") in wire and h("020e 0001 03") in wire and h("020f 0001 02") in wire
    assert h("0424 012c") + b"x" * 300 in wire
    assert decode(wire) == pdu


def test_receipted_message_id_without_nul_is_accepted() -> None:
    body_tlv = h("001e 0004 31613262")
    base = encode(DeliverSm(sequence_number=1, esm_class=4))
    wire = (len(base) + len(body_tlv)).to_bytes(4, "big") + base[4:] + body_tlv
    pdu = decode(wire)
    assert isinstance(pdu, DeliverSm) and pdu.tlvs.receipted_message_id == "1a2b"


def _frame(command_id: int, body: bytes, seq: int = 1) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, seq) + body


MALFORMED = [
    ("enquire_link with a body", _frame(0x15, b"\x00"), CommandStatus.ESME_RINVCMDLEN),
    ("system_id over 15 chars", _frame(0x09, b"A" * 20 + b"\x00pw\x00\x00\x34\x00\x00\x00"), CommandStatus.ESME_RINVPARLEN),
    ("bind body ends early", _frame(0x09, b"test\x00pw\x00"), CommandStatus.ESME_RINVCMDLEN),
    (
        "sm_length past the end",
        encode(SubmitSm(sequence_number=1, short_message=b"abc"))[:-3] + b"",
        CommandStatus.ESME_RINVCMDLEN,
    ),
    (
        "TLV past the end",
        _frame(0x80000009, b"S\x00" + h("0210 0005 34")),
        CommandStatus.ESME_RINVOPTPARSTREAM,
    ),
    ("u8 TLV of two octets", _frame(0x80000009, b"S\x00" + h("0210 0002 3400")), CommandStatus.ESME_RINVPARLEN),
    (
        "octets left after submit_sm_resp",
        _frame(0x80000004, b"12\x00junk"),
        CommandStatus.ESME_RINVCMDLEN,
    ),
]


def _fix_length(frame: bytes) -> bytes:
    return len(frame).to_bytes(4, "big") + frame[4:]


@pytest.mark.parametrize(("name", "frame", "status"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_frame_is_rejected_and_the_stream_goes_on(
    name: str, frame: bytes, status: int
) -> None:
    frame = _fix_length(frame)
    with pytest.raises(MalformedPdu) as raised:
        decode(frame)
    assert raised.value.command_status == status
    assert isinstance(raised.value, ProtocolError)
    after = encode(EnquireLink(sequence_number=42))
    stream = frame + after
    for size in range(1, len(stream) + 1):
        decoder = SmppDecoder()
        got: list[DecodedItem] = []
        for start in range(0, len(stream), size):
            got += decoder.feed(stream[start : start + size])
        assert len(got) == 2, size
        rejected = got[0]
        assert isinstance(rejected, PduRejected) and not rejected.fatal
        assert rejected.error.command_status == status
        assert rejected.error.sequence_number == 1
        assert rejected.raw == frame
        assert got[1] == EnquireLink(sequence_number=42)


def test_oversized_frame_is_skipped_without_buffering() -> None:
    big = struct.pack(">IIII", 16 + 5000, 0x04, 0, 77) + b"z" * 5000
    after = encode(EnquireLink(sequence_number=78))
    decoder = SmppDecoder(max_length=1000)
    got: list[DecodedItem] = []
    stream = big + after
    for start in range(0, len(stream), 100):
        got += decoder.feed(stream[start : start + 100])
        assert decoder.buffered < 200
    assert len(got) == 2
    assert isinstance(got[0], PduRejected)
    assert got[0].error.command_status == CommandStatus.ESME_RINVCMDLEN
    assert got[0].error.sequence_number == 77
    assert "exceeds" in str(got[0].error)
    assert got[1] == EnquireLink(sequence_number=78)


def test_length_below_header_breaks_the_stream() -> None:
    decoder = SmppDecoder()
    good = encode(EnquireLink(sequence_number=1))
    got = decoder.feed(good + struct.pack(">IIII", 8, 0x15, 0, 2) + good)
    assert got[0] == EnquireLink(sequence_number=1)
    assert isinstance(got[1], PduRejected) and got[1].fatal
    assert len(got) == 2
    with pytest.raises(ProtocolError, match="broken"):
        decoder.feed(good)


@pytest.mark.parametrize(
    ("pdu", "field"),
    [
        (BindTransceiver(sequence_number=1, system_id="x" * 16, password="pw"), "system_id"),
        (BindTransceiver(sequence_number=1, system_id="x", password="p" * 9), "password"),
        (SubmitSm(sequence_number=1, destination_addr="7" * 21), "destination_addr"),
        (SubmitSm(sequence_number=1, short_message=b"x" * 255), "short_message"),
        (SubmitSm(sequence_number=1, source_addr="Магазин"), "source_addr"),
        (SubmitSm(sequence_number=1, validity_period="2612"), "validity_period"),
        (SubmitSm(sequence_number=1, tlvs=Tlvs(sar_total_segments=256)), "sar_total_segments"),
        (SubmitSmResp(sequence_number=1, message_id="9" * 65), "message_id"),
    ],
)
def test_encode_refuses_fields_over_their_limits(pdu: Pdu, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        encode(pdu)
    assert raised.value.field == field


def test_bind_repr_hides_password() -> None:
    assert "secret" not in repr(BindTransceiver(sequence_number=1, system_id="a", password="secret"))


ascii_field = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=20)
octet = st.integers(min_value=0, max_value=255)


@settings(max_examples=200, deadline=None)
@given(
    cls=st.sampled_from([SubmitSm, DeliverSm]),
    seq=st.integers(min_value=0, max_value=0x7FFFFFFF),
    source=ascii_field,
    dest=ascii_field,
    esm=octet,
    coding=octet,
    message=st.binary(max_size=254),
    ref=st.none() | st.integers(min_value=0, max_value=0xFFFF),
    payload=st.none() | st.binary(max_size=2000),
    receipted=st.none() | st.text(alphabet="0123456789abcdef", max_size=64),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_short_message_pdus_round_trip_through_the_stream(
    cls: type[SubmitSm] | type[DeliverSm],
    seq: int,
    source: str,
    dest: str,
    esm: int,
    coding: int,
    message: bytes,
    ref: int | None,
    payload: bytes | None,
    receipted: str | None,
    chunk: int,
) -> None:
    pdu = cls(
        sequence_number=seq,
        source_addr=source,
        destination_addr=dest,
        esm_class=esm,
        data_coding=coding,
        short_message=message,
        tlvs=Tlvs(sar_msg_ref_num=ref, message_payload=payload, receipted_message_id=receipted),
    )
    wire = encode(pdu) * 2
    decoder = SmppDecoder()
    got: list[DecodedItem] = []
    for start in range(0, len(wire), chunk):
        got += decoder.feed(wire[start : start + chunk])
    assert got == [pdu, pdu]


@settings(max_examples=300, deadline=None)
@given(
    junk=st.lists(
        st.one_of(
            st.binary(max_size=40),
            # a plausible header with a random length and command, then random bytes
            st.tuples(
                st.integers(min_value=16, max_value=80),
                st.sampled_from([0x04, 0x05, 0x09, 0x15, 0x80000004, 0x80000009, 0x7]),
                st.binary(max_size=64),
            ).map(lambda t: struct.pack(">IIII", t[0], t[1], 0, 9) + t[2]),
        ),
        max_size=6,
    ),
    chunk=st.integers(min_value=1, max_value=50),
)
def test_decoder_never_raises_on_junk_until_framing_is_lost(junk: list[bytes], chunk: int) -> None:
    stream = b"".join(junk)
    decoder = SmppDecoder(max_length=200)
    fatal = False
    for start in range(0, len(stream), chunk):
        try:
            items = decoder.feed(stream[start : start + chunk])
        except ProtocolError:
            assert fatal  # only after a fatal rejection
            break
        for item in items:
            if isinstance(item, PduRejected):
                assert isinstance(item.error, MalformedPdu)
                fatal = fatal or item.fatal
            else:
                try:
                    wire = encode(item)
                except ValidationError:
                    continue  # decoding is lenient (e.g. a short validity_period); encoding is not
                assert decode(wire) == item
