"""User Data Header of concatenated SMS: build the 8-bit reference IE, read any header."""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import MalformedPdu

#: Information element: concatenated message, 8-bit reference number.
IE_CONCAT_8BIT = 0x00
#: Information element: concatenated message, 16-bit reference number.
IE_CONCAT_16BIT = 0x08
#: Octets a 8-bit-reference concatenation header takes (UDHL + IE id + IE length + 3).
CONCAT_UDH_LENGTH = 6
_RINVMSGLEN = 0x01  # ESME_RINVMSGLEN


@dataclass(frozen=True, slots=True, kw_only=True)
class Concat:
    """Which part of which long message this is (numbers start at 1)."""

    reference: int
    total: int
    seqnum: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDataHeader:
    """The information elements of a UDH, with the concatenation one read out."""

    elements: tuple[tuple[int, bytes], ...]
    concat: Concat | None = None


def concat_udh(reference: int, total: int, seqnum: int) -> bytes:
    """The 6-octet UDH for part `seqnum` of `total` (8-bit reference, IE 0x00)."""
    if not (0 <= reference <= 0xFF and 1 <= seqnum <= total <= 0xFF):
        raise ValueError(f"bad concatenation: ref={reference} part {seqnum}/{total}")
    return bytes((0x05, IE_CONCAT_8BIT, 0x03, reference, total, seqnum))


def split_udh(user_data: bytes) -> tuple[UserDataHeader, bytes]:
    """Split a short_message sent with esm_class UDHI into its header and the text bytes."""
    if not user_data:
        raise MalformedPdu("UDHI set but the message is empty", command_status=_RINVMSGLEN)
    udhl = user_data[0]
    if udhl + 1 > len(user_data):
        raise MalformedPdu(
            f"UDH length {udhl} runs past the {len(user_data)}-octet message",
            command_status=_RINVMSGLEN,
        )
    header = user_data[1 : udhl + 1]
    elements: list[tuple[int, bytes]] = []
    concat: Concat | None = None
    pos = 0
    while pos < len(header):
        if pos + 2 > len(header):
            raise MalformedPdu("truncated UDH information element", command_status=_RINVMSGLEN)
        iei, length = header[pos], header[pos + 1]
        data = header[pos + 2 : pos + 2 + length]
        if len(data) != length:
            raise MalformedPdu(f"UDH element 0x{iei:02x} truncated", command_status=_RINVMSGLEN)
        elements.append((iei, data))
        if iei == IE_CONCAT_8BIT and length == 3:
            concat = Concat(reference=data[0], total=data[1], seqnum=data[2])
        elif iei == IE_CONCAT_16BIT and length == 4:
            concat = Concat(reference=int.from_bytes(data[:2], "big"), total=data[2], seqnum=data[3])
        pos += 2 + length
    return UserDataHeader(elements=tuple(elements), concat=concat), user_data[udhl + 1 :]
