"""SMS text encoding and segmentation: GSM 03.38 (7-bit) or UCS-2, parts counted and split.

A text that fits the GSM 03.38 default alphabet and its extension table is sent as GSM 7-bit
(160 septets in one part, 153 per part of a long message, the other 7 carry the
concatenation header); extension characters (``^{}\\[~]|€`` and form feed) take two septets,
an escape and the character, and are never split across parts. Anything else goes as UCS-2
(UTF-16BE: 70 code units in one part, 67 per part); a character outside the Basic
Multilingual Plane is a surrogate pair, two units, never split.

`count_segments` answers "how many parts and how much room is left" without building the
parts; `encode_parts` builds the payloads actually sent. Both walk the same costs but are
written apart, and the tests check that they agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from hub.errors import ProtocolError, ValidationError

#: GSM 03.38 default alphabet, indexed by septet value; 0x1B is the escape to the extension.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The escape septet that announces a character of the extension table.
GSM7_ESCAPE = 0x1B
#: GSM 03.38 extension table: character → septet after the escape.
GSM7_EXTENSION: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

#: Septets in a single-part GSM 7-bit message (140 octets packed).
GSM7_SINGLE = 160
#: Septets per part of a concatenated GSM 7-bit message (6-octet UDH takes 7 septets).
GSM7_MULTI = 153
#: UTF-16 code units in a single-part UCS-2 message (140 octets).
UCS2_SINGLE = 70
#: UTF-16 code units per part of a concatenated UCS-2 message (134 octets after the UDH).
UCS2_MULTI = 67
#: SMPP data_coding values for the two encodings we send.
DATA_CODING_GSM7 = 0x00
DATA_CODING_UCS2 = 0x08
#: Fill bits that bring packed septets after a 6-octet UDH to a septet boundary (48 + 1 = 49).
UDH_FILL_BITS = 1

_BASIC: dict[str, int] = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != GSM7_ESCAPE}
_EXTENSION_BY_SEPTET: dict[int, str] = {v: k for k, v in GSM7_EXTENSION.items()}
#: Every character GSM 7-bit can carry (one set test per text instead of one per character).
_GSM7_CHARS = frozenset(_BASIC) | frozenset(GSM7_EXTENSION)
_EXTENSION_CHARS = frozenset(GSM7_EXTENSION)
_CR = 0x0D


class SmsEncoding(StrEnum):
    """The alphabet a message goes in."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentCount:
    """How a text will be sent: encoding, parts, and the room used/left in the last part.

    Units are septets for GSM 7-bit and UTF-16 code units for UCS-2.
    """

    encoding: SmsEncoding
    parts: int
    units: int
    per_part: int
    used_in_last_part: int
    left_in_last_part: int

    def as_dict(self) -> dict[str, str | int]:
        """What a preview shows: encoding, parts, units, room per part and left in the last."""
        return {
            "encoding": self.encoding.value,
            "parts": self.parts,
            "units": self.units,
            "per_part": self.per_part,
            "left_in_last_part": self.left_in_last_part,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedPart:
    """One part as sent: its text, its payload bytes (without UDH) and its size in units."""

    text: str
    payload: bytes
    units: int
    #: packed GSM 7-bit only: bits of padding before the first septet (after a UDH)
    fill_bits: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedMessage:
    """The parts of one message, ready for SMPP: data_coding plus one payload per part."""

    encoding: SmsEncoding
    data_coding: int
    packed: bool
    parts: tuple[EncodedPart, ...]


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 default alphabet or its extension."""
    return _GSM7_CHARS.issuperset(text)


def choose_encoding(text: str) -> SmsEncoding:
    """GSM 7-bit when the text allows it, else UCS-2."""
    return SmsEncoding.GSM7 if is_gsm7(text) else SmsEncoding.UCS2


def _check_text(text: str, encoding: SmsEncoding | None) -> SmsEncoding:
    chosen = encoding or choose_encoding(text)
    if chosen is SmsEncoding.GSM7 and not is_gsm7(text):
        bad = next(ch for ch in text if ch not in _BASIC and ch not in GSM7_EXTENSION)
        raise ValidationError(f"character {bad!r} is not in the GSM 7-bit alphabet", field="body")
    try:
        text.encode("utf-16-le")  # fails on a lone surrogate, in C
    except UnicodeEncodeError:
        raise ValidationError("text holds a lone surrogate; it cannot be sent", field="body") from None
    return chosen


def _cost(ch: str, encoding: SmsEncoding) -> int:
    if encoding is SmsEncoding.GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _units(text: str, encoding: SmsEncoding) -> int:
    """Septets or UTF-16 units of a checked text, without a Python step per character."""
    if encoding is SmsEncoding.GSM7:
        if _EXTENSION_CHARS.isdisjoint(text):
            return len(text)
        return len(text) + sum(1 for ch in text if ch in _EXTENSION_CHARS)
    return len(text.encode("utf-16-le")) // 2


def _limits(encoding: SmsEncoding) -> tuple[int, int]:
    if encoding is SmsEncoding.GSM7:
        return GSM7_SINGLE, GSM7_MULTI
    return UCS2_SINGLE, UCS2_MULTI


def count_segments(text: str, *, encoding: SmsEncoding | None = None) -> SegmentCount:
    """Encoding, number of parts and the room used and left in the last part of `text`.

    An empty text is one empty part. A character that costs two units goes whole into the
    next part when only one unit is left, so the count is not simply ``ceil(units / 153)``.
    """
    chosen = _check_text(text, encoding)
    single, multi = _limits(chosen)
    total = _units(text, chosen)
    if total <= single:
        return SegmentCount(
            encoding=chosen,
            parts=1,
            units=total,
            per_part=single,
            used_in_last_part=total,
            left_in_last_part=single - total,
        )
    parts, used = 1, 0
    for cost in (_cost(ch, chosen) for ch in text):
        if used + cost > multi:
            parts, used = parts + 1, 0
        used += cost
    return SegmentCount(
        encoding=chosen,
        parts=parts,
        units=total,
        per_part=multi,
        used_in_last_part=used,
        left_in_last_part=multi - used,
    )


def _split(text: str, encoding: SmsEncoding) -> Iterator[str]:
    single, multi = _limits(encoding)
    if _units(text, encoding) <= single:
        yield text
        return
    start, used = 0, 0
    for i, ch in enumerate(text):
        cost = _cost(ch, encoding)
        if used + cost > multi:
            yield text[start:i]
            start, used = i, 0
        used += cost
    yield text[start:]


def split_text(text: str, *, encoding: SmsEncoding | None = None) -> tuple[str, ...]:
    """The texts of the parts `text` is sent in (never cutting an escape or a surrogate pair)."""
    return tuple(_split(text, _check_text(text, encoding)))


def gsm7_septets(text: str) -> bytes:
    """GSM 03.38 septets of `text`, one per octet (the form most SMSCs expect for data_coding 0)."""
    out = bytearray()
    for ch in text:
        basic = _BASIC.get(ch)
        if basic is not None:
            out.append(basic)
            continue
        ext = GSM7_EXTENSION.get(ch)
        if ext is None:
            raise ValidationError(f"character {ch!r} is not in the GSM 7-bit alphabet", field="body")
        out += bytes((GSM7_ESCAPE, ext))
    return bytes(out)


def pack_septets(septets: bytes, *, fill_bits: int = 0) -> bytes:
    """Pack septets 8 into 7 octets, least significant bit first, after `fill_bits` zero bits.

    When the last octet would have 7 spare bits, they carry a CR (3GPP TS 23.038 6.1.2.3.1)
    rather than zeros, which a phone would show as "@".
    """
    values = list(septets)
    bits = fill_bits + 7 * len(values)
    if bits % 8 == 1:
        values.append(_CR)
    acc = 0
    for i, septet in enumerate(values):
        acc |= (septet & 0x7F) << (fill_bits + 7 * i)
    return acc.to_bytes((bits + 7) // 8, "little")


def unpack_septets(data: bytes, *, count: int | None = None, fill_bits: int = 0) -> bytes:
    """Unpack septets; without `count`, a CR in the 7 spare bits of the last octet is dropped."""
    available = (len(data) * 8 - fill_bits) // 7
    if count is None:
        count = available
        if count and (fill_bits + 7 * count) == len(data) * 8:
            last = (int.from_bytes(data, "little") >> (fill_bits + 7 * (count - 1))) & 0x7F
            if last == _CR:
                count -= 1
    elif count > available:
        raise ProtocolError(f"{count} septets asked for but {len(data)} octets hold {available}")
    acc = int.from_bytes(data, "little") >> fill_bits
    return bytes((acc >> (7 * i)) & 0x7F for i in range(count))


def decode_gsm7_septets(septets: bytes) -> str:
    """Text of unpacked GSM 03.38 septets; an unknown extension code reads as its basic char."""
    out: list[str] = []
    escaped = False
    for value in septets:
        if value > 0x7F:
            raise ProtocolError(f"octet 0x{value:02x} is not a GSM 7-bit septet", channel="sms")
        if escaped:
            out.append(_EXTENSION_BY_SEPTET.get(value) or GSM7_BASIC[value])
            escaped = False
        elif value == GSM7_ESCAPE:
            escaped = True
        else:
            out.append(GSM7_BASIC[value])
    if escaped:
        out.append(" ")  # a dangling escape reads as a space (TS 23.038 note)
    return "".join(out)


def encode_parts(
    text: str, *, encoding: SmsEncoding | None = None, packed: bool = False
) -> EncodedMessage:
    """Split `text` into the parts sent and encode each one.

    GSM 7-bit parts are one septet per octet unless `packed`; packed parts of a long message
    start after `UDH_FILL_BITS` so that they follow a 6-octet concatenation UDH.
    """
    chosen = _check_text(text, encoding)
    texts = list(_split(text, chosen))
    fill = UDH_FILL_BITS if packed and len(texts) > 1 else 0
    parts: list[EncodedPart] = []
    for part in texts:
        if chosen is SmsEncoding.GSM7:
            septets = gsm7_septets(part)
            payload = pack_septets(septets, fill_bits=fill) if packed else septets
            parts.append(
                EncodedPart(text=part, payload=payload, units=len(septets), fill_bits=fill)
            )
        else:
            payload = part.encode("utf-16-be")
            parts.append(EncodedPart(text=part, payload=payload, units=len(payload) // 2))
    return EncodedMessage(
        encoding=chosen,
        data_coding=DATA_CODING_GSM7 if chosen is SmsEncoding.GSM7 else DATA_CODING_UCS2,
        packed=packed and chosen is SmsEncoding.GSM7,
        parts=tuple(parts),
    )


def decode_part(part: EncodedPart, encoding: SmsEncoding, *, packed: bool = False) -> str:
    """Text of one part we encoded (the septet count it carries settles packed padding)."""
    if encoding is SmsEncoding.UCS2:
        return decode_payload(part.payload, DATA_CODING_UCS2)
    septets = (
        unpack_septets(part.payload, count=part.units, fill_bits=part.fill_bits)
        if packed
        else part.payload
    )
    return decode_gsm7_septets(septets)


def decode(message: EncodedMessage) -> str:
    """The whole text of a message we encoded."""
    return "".join(decode_part(p, message.encoding, packed=message.packed) for p in message.parts)


def decode_payload(
    payload: bytes, data_coding: int, *, packed: bool = False, fill_bits: int = 0
) -> str:
    """Text of a received short_message/message_payload (UDH already removed).

    data_coding 0 is GSM 7-bit (unpacked unless `packed`), 1 IA5/ASCII, 3 Latin-1,
    8 UCS-2/UTF-16BE; the upper nibble's message-class bits are ignored for 0xF0-0xF3.
    """
    scheme = data_coding
    if data_coding & 0xF0 == 0xF0:  # message class coding: bit 2 set means 8-bit data
        scheme = 0x04 if data_coding & 0x04 else DATA_CODING_GSM7
    try:
        if scheme == DATA_CODING_GSM7:
            septets = unpack_septets(payload, fill_bits=fill_bits) if packed else payload
            return decode_gsm7_septets(septets)
        if scheme == 0x01:
            return payload.decode("ascii")
        if scheme == 0x03:
            return payload.decode("latin-1")
        if scheme == DATA_CODING_UCS2:
            return payload.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"payload is not valid for data_coding {data_coding}: {exc.reason}", channel="sms"
        ) from exc
    raise ProtocolError(f"data_coding 0x{data_coding:02x} is not text", channel="sms")
