"""Sans-IO SMPP 3.4 codec: typed PDUs to bytes and a stream decoder fed bytes, no sockets.

Covers what an ESME bound as a transceiver speaks: bind_transceiver, unbind, submit_sm,
deliver_sm, enquire_link (each with its _resp) and generic_nack, with the optional TLVs
used for receipts and long messages. A PDU of a command we do not know decodes to
`UnknownPdu` (to be answered with a generic_nack). A malformed PDU inside a good frame is
reported as `PduRejected` and the stream goes on with the next frame; an oversized frame is
reported once and its bytes are skipped as they arrive, without buffering them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from hub.errors import MalformedPdu, ProtocolError, ValidationError

#: Length of the header every PDU starts with (length, command id, status, sequence).
HEADER_LENGTH = 16
#: Largest PDU accepted: a message_payload is at most 64 KiB; twice that bounds memory.
MAX_PDU_LENGTH = 1 << 17
#: interface_version we bind with (3.4).
SMPP_VERSION = 0x34
#: Sequence numbers run 1 .. 0x7FFFFFFF (SMPP 3.4 section 3.2).
MAX_SEQUENCE = 0x7FFFFFFF
#: Largest short_message (sm_length is one octet, 255 is reserved).
MAX_SHORT_MESSAGE = 254

_HEADER = struct.Struct(">IIII")
_CHANNEL = "sms"


class CommandId(IntEnum):
    """SMPP 3.4 command ids (responses have bit 31 set)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


#: Bit 31 of command_id marks a response.
RESPONSE_BIT = 0x80000000


class CommandStatus(IntEnum):
    """SMPP 3.4 command_status values (section 5.1.3)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


def status_name(status: int) -> str:
    """`ESME_RTHROTTLED` for 0x58; vendor-specific values as hex."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


# esm_class bits (SMPP 3.4 section 5.2.12)
#: Messaging mode: store and forward (the default mode of most SMSCs).
ESM_STORE_AND_FORWARD = 0x03
#: Message type mask (bits 5..2) and its values.
ESM_TYPE_MASK = 0x3C
ESM_DELIVERY_RECEIPT = 0x04
ESM_DELIVERY_ACK = 0x08
ESM_MANUAL_ACK = 0x10
ESM_INTERMEDIATE_NOTIFICATION = 0x20
#: The short_message starts with a User Data Header.
ESM_UDHI = 0x40
#: Set a reply path.
ESM_REPLY_PATH = 0x80

# registered_delivery (section 5.2.17)
REGISTERED_DELIVERY_NONE = 0x00
REGISTERED_DELIVERY_ALWAYS = 0x01
REGISTERED_DELIVERY_ON_FAILURE = 0x02


def is_delivery_receipt(esm_class: int) -> bool:
    """True when a deliver_sm's esm_class marks an SMSC delivery receipt."""
    return esm_class & ESM_TYPE_MASK == ESM_DELIVERY_RECEIPT


class MessageState(IntEnum):
    """The message_state TLV (section 5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class TlvTag(IntEnum):
    """Optional parameter tags we read and write by name."""

    DEST_ADDR_SUBUNIT = 0x0005
    RECEIPTED_MESSAGE_ID = 0x001E
    USER_MESSAGE_REFERENCE = 0x0204
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


@dataclass(frozen=True, slots=True, kw_only=True)
class Tlv:
    """An optional parameter we have no name for, kept as raw bytes."""

    tag: int
    value: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Tlvs:
    """The optional parameters of a PDU: the ones we use by name, the rest in `other`."""

    receipted_message_id: str | None = None
    message_state: int | None = None
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    message_payload: bytes | None = None
    user_message_reference: int | None = None
    network_error_code: bytes | None = None
    sc_interface_version: int | None = None
    dest_addr_subunit: int | None = None
    other: tuple[Tlv, ...] = ()


#: The optional parameters of a PDU that has none (shared: the value is frozen).
NO_TLVS = Tlvs()

# kind of each named TLV: ("u8"|"u16"|"cstr"|"octets", fixed or max length incl. NUL)
_TLV_FIELDS: dict[int, tuple[str, str, int]] = {
    TlvTag.RECEIPTED_MESSAGE_ID: ("receipted_message_id", "cstr", 65),
    TlvTag.MESSAGE_STATE: ("message_state", "u8", 1),
    TlvTag.SAR_MSG_REF_NUM: ("sar_msg_ref_num", "u16", 2),
    TlvTag.SAR_TOTAL_SEGMENTS: ("sar_total_segments", "u8", 1),
    TlvTag.SAR_SEGMENT_SEQNUM: ("sar_segment_seqnum", "u8", 1),
    TlvTag.MESSAGE_PAYLOAD: ("message_payload", "octets", 0xFFFF),
    TlvTag.USER_MESSAGE_REFERENCE: ("user_message_reference", "u16", 2),
    TlvTag.NETWORK_ERROR_CODE: ("network_error_code", "octets", 3),
    TlvTag.SC_INTERFACE_VERSION: ("sc_interface_version", "u8", 1),
    TlvTag.DEST_ADDR_SUBUNIT: ("dest_addr_subunit", "u8", 1),
}


# ---------------------------------------------------------------- PDUs


@dataclass(frozen=True, slots=True, kw_only=True)
class PduBase:
    """The header fields every PDU carries (command_length is computed on encode)."""

    command_id: ClassVar[int]
    sequence_number: int
    command_status: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def encode_body(self) -> bytes:
        """The bytes after the header (none for header-only commands)."""
        return b""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(PduBase):
    """bind_transceiver: log in to send and receive on one connection."""

    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = SMPP_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def __repr__(self) -> str:  # keep the password out of logs
        return (
            f"BindTransceiver(sequence_number={self.sequence_number},"
            f" system_id={self.system_id!r}, password='***')"
        )

    def encode_body(self) -> bytes:
        return _body_bind(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(PduBase):
    """bind_transceiver_resp: the SMSC's system_id (body may be absent on an error)."""

    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP
    system_id: str = ""
    tlvs: Tlvs = NO_TLVS

    def encode_body(self) -> bytes:
        if self.command_status and not self.system_id and self.tlvs == NO_TLVS:
            return b""  # an error response may carry no body
        return _cstr(self.system_id, 16, "system_id") + _encode_tlvs(self.tlvs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(PduBase):
    """unbind: log out."""

    command_id: ClassVar[int] = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(PduBase):
    """unbind_resp."""

    command_id: ClassVar[int] = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(PduBase):
    """enquire_link: keep-alive."""

    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(PduBase):
    """enquire_link_resp."""

    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(PduBase):
    """generic_nack: the peer could not make sense of a PDU (status says why)."""

    command_id: ClassVar[int] = CommandId.GENERIC_NACK


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage(PduBase):
    """The body submit_sm and deliver_sm share (SMPP 3.4 sections 4.4.1 and 4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: Tlvs = NO_TLVS

    def encode_body(self) -> bytes:
        return _body_short_message(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessage):
    """submit_sm: send one message (one part of a long one)."""

    command_id: ClassVar[int] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessage):
    """deliver_sm: an incoming message or a delivery receipt."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM

    @property
    def is_receipt(self) -> bool:
        return is_delivery_receipt(self.esm_class)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(PduBase):
    """submit_sm_resp: the SMSC's message id (body may be absent on an error)."""

    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP
    message_id: str = ""

    def encode_body(self) -> bytes:
        return _body_message_id(self.message_id, self.command_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(PduBase):
    """deliver_sm_resp: our answer to a deliver_sm (message_id is unused, empty)."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP
    message_id: str = ""

    def encode_body(self) -> bytes:
        return _body_message_id(self.message_id, self.command_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownPdu:
    """A well-framed PDU of a command we do not speak; answer it with a generic_nack."""

    command_id: int
    command_status: int
    sequence_number: int
    body: bytes

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def encode_body(self) -> bytes:
        return self.body


Pdu = (
    BindTransceiver
    | BindTransceiverResp
    | Unbind
    | UnbindResp
    | EnquireLink
    | EnquireLinkResp
    | GenericNack
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | UnknownPdu
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PduRejected:
    """A frame that could not be decoded; `fatal` when the stream's framing is lost."""

    error: MalformedPdu
    raw: bytes
    fatal: bool = False

    @property
    def command_id(self) -> int | None:
        return int.from_bytes(self.raw[4:8], "big") if len(self.raw) >= 8 else None


DecodedItem = Pdu | PduRejected


# ---------------------------------------------------------------- encoding


def _cstr(value: str, max_length: int, name: str) -> bytes:
    """A C-octet string; `max_length` counts the terminating NUL as the spec does."""
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{name} must be ASCII: {value!r}", field=name) from exc
    if b"\x00" in data:
        raise ValidationError(f"{name} holds a NUL", field=name)
    if len(data) + 1 > max_length:
        raise ValidationError(
            f"{name} is {len(data)} characters, at most {max_length - 1} allowed", field=name
        )
    return data + b"\x00"


def _u8(value: int, name: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise ValidationError(f"{name}={value} does not fit one octet", field=name)
    return bytes((value,))


def _encode_tlvs(tlvs: Tlvs) -> bytes:
    if tlvs is NO_TLVS:
        return b""
    out = bytearray()
    for tag, (name, kind, size) in _TLV_FIELDS.items():
        value = getattr(tlvs, name)
        if value is None:
            continue
        if kind == "u8":
            data = _u8(value, name)
        elif kind == "u16":
            if not 0 <= value <= 0xFFFF:
                raise ValidationError(f"{name}={value} does not fit two octets", field=name)
            data = value.to_bytes(2, "big")
        elif kind == "cstr":
            data = _cstr(value, size, name)
        else:
            data = bytes(value)
            if len(data) > size:
                raise ValidationError(f"{name} is {len(data)} octets, at most {size}", field=name)
        out += struct.pack(">HH", tag, len(data)) + data
    for tlv in tlvs.other:
        out += struct.pack(">HH", tlv.tag, len(tlv.value)) + tlv.value
    return bytes(out)


def _body_bind(pdu: BindTransceiver) -> bytes:
    return (
        _cstr(pdu.system_id, 16, "system_id")
        + _cstr(pdu.password, 9, "password")
        + _cstr(pdu.system_type, 13, "system_type")
        + _u8(pdu.interface_version, "interface_version")
        + _u8(pdu.addr_ton, "addr_ton")
        + _u8(pdu.addr_npi, "addr_npi")
        + _cstr(pdu.address_range, 41, "address_range")
    )


_B2 = struct.Struct(">BB")
_B3 = struct.Struct(">BBB")
_B5 = struct.Struct(">BBBBB")


def _body_short_message(pdu: ShortMessage) -> bytes:
    if len(pdu.short_message) > MAX_SHORT_MESSAGE:
        raise ValidationError(
            f"short_message is {len(pdu.short_message)} octets, at most {MAX_SHORT_MESSAGE};"
            " use message_payload",
            field="short_message",
        )
    try:  # the octets packed together; a value out of range is named by the slow path
        return b"".join(
            (
                _cstr(pdu.service_type, 6, "service_type"),
                _B2.pack(pdu.source_addr_ton, pdu.source_addr_npi),
                _cstr(pdu.source_addr, 21, "source_addr"),
                _B2.pack(pdu.dest_addr_ton, pdu.dest_addr_npi),
                _cstr(pdu.destination_addr, 21, "destination_addr"),
                _B3.pack(pdu.esm_class, pdu.protocol_id, pdu.priority_flag),
                _time(pdu.schedule_delivery_time, "schedule_delivery_time"),
                _time(pdu.validity_period, "validity_period"),
                _B5.pack(
                    pdu.registered_delivery,
                    pdu.replace_if_present_flag,
                    pdu.data_coding,
                    pdu.sm_default_msg_id,
                    len(pdu.short_message),
                ),
                pdu.short_message,
                _encode_tlvs(pdu.tlvs),
            )
        )
    except struct.error:
        return _body_short_message_checked(pdu)


def _body_short_message_checked(pdu: ShortMessage) -> bytes:
    """The same body, one field at a time, so that a bad octet is named."""
    return (
        _cstr(pdu.service_type, 6, "service_type")
        + _u8(pdu.source_addr_ton, "source_addr_ton")
        + _u8(pdu.source_addr_npi, "source_addr_npi")
        + _cstr(pdu.source_addr, 21, "source_addr")
        + _u8(pdu.dest_addr_ton, "dest_addr_ton")
        + _u8(pdu.dest_addr_npi, "dest_addr_npi")
        + _cstr(pdu.destination_addr, 21, "destination_addr")
        + _u8(pdu.esm_class, "esm_class")
        + _u8(pdu.protocol_id, "protocol_id")
        + _u8(pdu.priority_flag, "priority_flag")
        + _time(pdu.schedule_delivery_time, "schedule_delivery_time")
        + _time(pdu.validity_period, "validity_period")
        + _u8(pdu.registered_delivery, "registered_delivery")
        + _u8(pdu.replace_if_present_flag, "replace_if_present_flag")
        + _u8(pdu.data_coding, "data_coding")
        + _u8(pdu.sm_default_msg_id, "sm_default_msg_id")
        + _u8(len(pdu.short_message), "sm_length")
        + pdu.short_message
        + _encode_tlvs(pdu.tlvs)
    )


def _time(value: str, name: str) -> bytes:
    """An SMPP time: empty, or exactly 16 characters (YYMMDDhhmmsstnnp)."""
    if value and len(value) != 16:
        raise ValidationError(f"{name} must be empty or 16 characters", field=name)
    return _cstr(value, 17, name)


def _body_message_id(message_id: str, status: int) -> bytes:
    if status and not message_id:
        return b""  # SMPP 3.4: no body on an error response
    return _cstr(message_id, 65, "message_id")


def frame(command_id: int, sequence_number: int, body: bytes, command_status: int = 0) -> bytes:
    """Header and `body`: a PDU whose body was encoded once (e.g. each retry of a submit)."""
    if not 0 <= sequence_number <= MAX_SEQUENCE:
        raise ValidationError(f"sequence_number {sequence_number} out of range")
    return _HEADER.pack(HEADER_LENGTH + len(body), command_id, command_status, sequence_number) + body


def encode(pdu: Pdu) -> bytes:
    """The bytes of one PDU, header included."""
    return frame(pdu.command_id, pdu.sequence_number, pdu.encode_body(), pdu.command_status)


# ---------------------------------------------------------------- decoding


class _Reader:
    """Walks a PDU body; every overrun or bad field is a `MalformedPdu`."""

    __slots__ = ("data", "pos", "seq")

    def __init__(self, data: bytes, seq: int) -> None:
        self.data = data
        self.pos = 0
        self.seq = seq

    def fail(self, message: str, status: int = CommandStatus.ESME_RINVCMDLEN) -> MalformedPdu:
        return MalformedPdu(
            message, command_status=status, sequence_number=self.seq, channel=_CHANNEL
        )

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def u8(self, name: str) -> int:
        if self.pos + 1 > len(self.data):
            raise self.fail(f"PDU body ends before {name}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u8s(self, unpacker: struct.Struct, name: str) -> tuple[int, ...]:
        """Several one-octet fields in a row, read at once."""
        if self.pos + unpacker.size > len(self.data):
            raise self.fail(f"PDU body ends before {name}")
        values = unpacker.unpack_from(self.data, self.pos)
        self.pos += unpacker.size
        return values

    def cstr(self, max_length: int, name: str) -> str:
        end = self.data.find(b"\x00", self.pos, self.pos + max_length)
        if end < 0:
            if len(self.data) - self.pos < max_length:
                raise self.fail(f"PDU body ends inside {name}")
            raise self.fail(f"{name} longer than {max_length - 1} octets", CommandStatus.ESME_RINVPARLEN)
        value = self.data[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return value

    def octets(self, n: int, name: str) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(f"PDU body ends inside {name} ({n} octets announced)")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def tlvs(self) -> Tlvs:
        named: dict[str, Any] = {}
        other: list[Tlv] = []
        while not self.at_end:
            if len(self.data) - self.pos < 4:
                raise self.fail("truncated TLV header", CommandStatus.ESME_RINVOPTPARSTREAM)
            tag, length = struct.unpack_from(">HH", self.data, self.pos)
            self.pos += 4
            if self.pos + length > len(self.data):
                raise self.fail(
                    f"TLV 0x{tag:04x} announces {length} octets past the end of the PDU",
                    CommandStatus.ESME_RINVOPTPARSTREAM,
                )
            value = self.data[self.pos : self.pos + length]
            self.pos += length
            known = _TLV_FIELDS.get(tag)
            if known is None:
                other.append(Tlv(tag=tag, value=value))
                continue
            name, kind, size = known
            named[name] = self._tlv_value(name, kind, size, value)
        if not named and not other:
            return NO_TLVS
        return Tlvs(other=tuple(other), **named)

    def _tlv_value(self, name: str, kind: str, size: int, value: bytes) -> object:
        if kind in ("u8", "u16"):
            if len(value) != size:
                raise self.fail(
                    f"TLV {name} has {len(value)} octets, {size} expected",
                    CommandStatus.ESME_RINVPARLEN,
                )
            return int.from_bytes(value, "big")
        if kind == "cstr":
            text = value.rstrip(b"\x00")  # some SMSCs omit the NUL; both are accepted
            if len(text) + 1 > size or b"\x00" in text:
                raise self.fail(f"TLV {name} is not a C string of at most {size - 1}", CommandStatus.ESME_RINVPARLEN)
            return text.decode("latin-1")
        if len(value) > size:
            raise self.fail(f"TLV {name} longer than {size}", CommandStatus.ESME_RINVPARLEN)
        return value


def _read_bind(r: _Reader, status: int) -> BindTransceiver:
    return BindTransceiver(
        sequence_number=r.seq,
        command_status=status,
        system_id=r.cstr(16, "system_id"),
        password=r.cstr(9, "password"),
        system_type=r.cstr(13, "system_type"),
        interface_version=r.u8("interface_version"),
        addr_ton=r.u8("addr_ton"),
        addr_npi=r.u8("addr_npi"),
        address_range=r.cstr(41, "address_range"),
    )


def _read_bind_resp(r: _Reader, status: int) -> BindTransceiverResp:
    if r.at_end:
        return BindTransceiverResp(sequence_number=r.seq, command_status=status)
    system_id = r.cstr(16, "system_id")
    return BindTransceiverResp(
        sequence_number=r.seq, command_status=status, system_id=system_id, tlvs=r.tlvs()
    )


_M = TypeVar("_M", SubmitSm, DeliverSm)


def _read_short_message(r: _Reader, status: int, cls: type[_M]) -> _M:
    service_type = r.cstr(6, "service_type")
    source_addr_ton, source_addr_npi = r.u8s(_B2, "source_addr_ton")
    source_addr = r.cstr(21, "source_addr")
    dest_addr_ton, dest_addr_npi = r.u8s(_B2, "dest_addr_ton")
    destination_addr = r.cstr(21, "destination_addr")
    esm_class, protocol_id, priority_flag = r.u8s(_B3, "esm_class")
    schedule_delivery_time = r.cstr(17, "schedule_delivery_time")
    validity_period = r.cstr(17, "validity_period")
    (
        registered_delivery,
        replace_if_present_flag,
        data_coding,
        sm_default_msg_id,
        sm_length,
    ) = r.u8s(_B5, "registered_delivery")
    if sm_length > MAX_SHORT_MESSAGE:
        raise r.fail(f"sm_length {sm_length} is reserved", CommandStatus.ESME_RINVMSGLEN)
    short_message = r.octets(sm_length, "short_message")
    return cls(
        sequence_number=r.seq,
        command_status=status,
        service_type=service_type,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule_delivery_time,
        validity_period=validity_period,
        registered_delivery=registered_delivery,
        replace_if_present_flag=replace_if_present_flag,
        data_coding=data_coding,
        sm_default_msg_id=sm_default_msg_id,
        short_message=short_message,
        tlvs=r.tlvs(),
    )


def _read_submit(r: _Reader, status: int) -> SubmitSm:
    return _read_short_message(r, status, SubmitSm)


def _read_deliver(r: _Reader, status: int) -> DeliverSm:
    return _read_short_message(r, status, DeliverSm)


def _read_submit_resp(r: _Reader, status: int) -> SubmitSmResp:
    message_id = "" if r.at_end else r.cstr(65, "message_id")
    return SubmitSmResp(sequence_number=r.seq, command_status=status, message_id=message_id)


def _read_deliver_resp(r: _Reader, status: int) -> DeliverSmResp:
    message_id = "" if r.at_end else r.cstr(65, "message_id")
    return DeliverSmResp(sequence_number=r.seq, command_status=status, message_id=message_id)


_HeaderOnly = Unbind | UnbindResp | EnquireLink | EnquireLinkResp | GenericNack


def _header_only(cls: type[_HeaderOnly]) -> Callable[[_Reader, int], Pdu]:
    def read(r: _Reader, status: int) -> Pdu:
        return cls(sequence_number=r.seq, command_status=status)

    return read


_DECODERS: dict[int, Callable[[_Reader, int], Pdu]] = {
    CommandId.BIND_TRANSCEIVER: _read_bind,
    CommandId.BIND_TRANSCEIVER_RESP: _read_bind_resp,
    CommandId.SUBMIT_SM: _read_submit,
    CommandId.SUBMIT_SM_RESP: _read_submit_resp,
    CommandId.DELIVER_SM: _read_deliver,
    CommandId.DELIVER_SM_RESP: _read_deliver_resp,
    CommandId.UNBIND: _header_only(Unbind),
    CommandId.UNBIND_RESP: _header_only(UnbindResp),
    CommandId.ENQUIRE_LINK: _header_only(EnquireLink),
    CommandId.ENQUIRE_LINK_RESP: _header_only(EnquireLinkResp),
    CommandId.GENERIC_NACK: _header_only(GenericNack),
}
#: Commands whose body must be empty.
_HEADER_ONLY = frozenset(
    {
        CommandId.UNBIND,
        CommandId.UNBIND_RESP,
        CommandId.ENQUIRE_LINK,
        CommandId.ENQUIRE_LINK_RESP,
        CommandId.GENERIC_NACK,
    }
)


def decode(frame: bytes) -> Pdu:
    """Decode one complete PDU (header included); raises `MalformedPdu`."""
    if len(frame) < HEADER_LENGTH:
        raise MalformedPdu(
            f"PDU of {len(frame)} octets is shorter than its header",
            command_status=CommandStatus.ESME_RINVCMDLEN,
            channel=_CHANNEL,
        )
    length, command_id, status, seq = _HEADER.unpack_from(frame)
    if length != len(frame):
        raise MalformedPdu(
            f"command_length {length} but {len(frame)} octets given",
            command_status=CommandStatus.ESME_RINVCMDLEN,
            sequence_number=seq,
            channel=_CHANNEL,
        )
    body = frame[HEADER_LENGTH:]
    reader = _Reader(body, seq)
    read = _DECODERS.get(command_id)
    if read is None:
        return UnknownPdu(
            command_id=command_id, command_status=status, sequence_number=seq, body=body
        )
    if command_id in _HEADER_ONLY and body:
        raise reader.fail(f"{CommandId(command_id).name.lower()} must have no body")
    pdu = read(reader, status)
    if not reader.at_end:
        raise reader.fail(
            f"{len(body) - reader.pos} octets left over after {CommandId(command_id).name.lower()}"
        )
    return pdu


class SmppDecoder:
    """Stream decoder: `feed(bytes)` returns the PDUs completed so far, whatever the split.

    A frame whose body is malformed comes out as `PduRejected` and decoding goes on with
    the next frame. A frame longer than `max_length` is rejected as soon as its header is
    seen and its bytes are then skipped as they arrive. A command_length below the header
    size loses the framing: it is rejected as fatal and every later `feed` raises.
    """

    def __init__(self, *, max_length: int = MAX_PDU_LENGTH) -> None:
        self._buffer = bytearray()
        self._skip = 0
        self._max_length = max_length
        self._broken: str | None = None

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a PDU."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[DecodedItem]:
        """Add bytes from the wire; return every PDU (or rejection) they complete."""
        if self._broken is not None:
            raise ProtocolError(f"SMPP stream already broken: {self._broken}", channel=_CHANNEL)
        buf = self._buffer
        buf += data
        out: list[DecodedItem] = []
        pos = 0
        while True:
            if self._skip:
                taken = min(self._skip, len(buf) - pos)
                pos += taken
                self._skip -= taken
                if self._skip:
                    break
            if len(buf) - pos < HEADER_LENGTH:
                break
            length, _command_id, _status, seq = _HEADER.unpack_from(buf, pos)
            if length < HEADER_LENGTH:
                raw = bytes(buf[pos : pos + HEADER_LENGTH])
                self._broken = f"command_length {length} is shorter than the header"
                out.append(
                    PduRejected(
                        error=MalformedPdu(
                            self._broken,
                            command_status=CommandStatus.ESME_RINVCMDLEN,
                            sequence_number=seq,
                            channel=_CHANNEL,
                        ),
                        raw=raw,
                        fatal=True,
                    )
                )
                buf.clear()
                return out
            if length > self._max_length:
                out.append(
                    PduRejected(
                        error=MalformedPdu(
                            f"command_length {length} exceeds the limit of {self._max_length}",
                            command_status=CommandStatus.ESME_RINVCMDLEN,
                            sequence_number=seq,
                            channel=_CHANNEL,
                        ),
                        raw=bytes(buf[pos : pos + HEADER_LENGTH]),
                    )
                )
                self._skip = length
                continue
            if len(buf) - pos < length:
                break
            frame = bytes(buf[pos : pos + length])
            pos += length
            try:
                out.append(decode(frame))
            except MalformedPdu as exc:
                out.append(PduRejected(error=exc, raw=frame))
        del buf[:pos]
        return out
