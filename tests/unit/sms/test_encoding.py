"""GSM 03.38 / UCS-2 encoding and segmentation: counts, splits and bytes agree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.channels.sms.encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    EncodedPart,
    SmsEncoding,
    choose_encoding,
    count_segments,
    decode,
    decode_gsm7_septets,
    decode_payload,
    encode_parts,
    gsm7_septets,
    pack_septets,
    split_text,
    unpack_septets,
)
from hub.errors import ProtocolError, ValidationError

GSM_CHARS = [ch for ch in GSM7_BASIC if ch != "\x1b"] + list(GSM7_EXTENSION)
gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
#: mixes Cyrillic, emoji (outside the BMP) and GSM characters so boundaries land everywhere
mixed_text = st.text(
    alphabet=st.sampled_from([*GSM_CHARS[:40], "ж", "Я", "😀", "𝄞", "€", "{"]), max_size=400
)


@pytest.mark.parametrize(
    ("text", "encoding", "parts", "used", "left"),
    [
        ("", SmsEncoding.GSM7, 1, 0, 160),
        ("a" * 160, SmsEncoding.GSM7, 1, 160, 0),
        ("a" * 161, SmsEncoding.GSM7, 2, 8, 145),
        ("a" * 306, SmsEncoding.GSM7, 2, 153, 0),
        ("a" * 307, SmsEncoding.GSM7, 3, 1, 152),
        ("€" * 80, SmsEncoding.GSM7, 1, 160, 0),
        ("€" * 81, SmsEncoding.GSM7, 2, 10, 143),
        # 152 septets then an escape pair: the pair goes whole into part 2
        ("a" * 152 + "[" + "b" * 10, SmsEncoding.GSM7, 2, 12, 141),
        ("\f^{}\\[~]|€", SmsEncoding.GSM7, 1, 20, 140),
        ("Привет", SmsEncoding.UCS2, 1, 6, 64),
        ("я" * 70, SmsEncoding.UCS2, 1, 70, 0),
        ("я" * 71, SmsEncoding.UCS2, 2, 4, 63),
        ("😀" * 35, SmsEncoding.UCS2, 1, 70, 0),
        # 66 units then a surrogate pair: the pair goes whole into part 2
        ("я" * 66 + "😀" + "я" * 3, SmsEncoding.UCS2, 2, 5, 62),
        ("a`", SmsEncoding.UCS2, 1, 2, 68),  # backtick is not GSM
    ],
)
def test_count_segments_table(
    text: str, encoding: SmsEncoding, parts: int, used: int, left: int
) -> None:
    count = count_segments(text)
    assert (count.encoding, count.parts, count.used_in_last_part, count.left_in_last_part) == (
        encoding,
        parts,
        used,
        left,
    )


def test_split_keeps_escape_and_surrogate_whole() -> None:
    gsm = split_text("a" * 152 + "[" + "b" * 10)
    assert gsm == ("a" * 152, "[" + "b" * 10)
    ucs = split_text("я" * 66 + "😀яяя")
    assert ucs == ("я" * 66, "😀яяя")


def test_gsm7_septets_known_values() -> None:
    assert gsm7_septets("@£$") == b"\x00\x01\x02"
    assert gsm7_septets("€[") == b"\x1b\x65\x1b\x3c"
    assert decode_gsm7_septets(b"\x1b\x65\x1b\x3c") == "€["
    # an unknown extension code reads as the basic character
    assert decode_gsm7_septets(b"\x1b\x41") == "A"


def test_pack_known_vector() -> None:
    # the classic "hellohello" vector from GSM 03.38 examples
    assert pack_septets(gsm7_septets("hellohello")).hex() == "e8329bfd4697d9ec37"
    assert unpack_septets(bytes.fromhex("e8329bfd4697d9ec37")) == gsm7_septets("hellohello")


def test_pack_pads_seven_spare_bits_with_cr() -> None:
    packed = pack_septets(gsm7_septets("1234567"))
    assert len(packed) == 7
    assert unpack_septets(packed, count=8)[-1] == 0x0D
    assert decode_gsm7_septets(unpack_septets(packed)) == "1234567"


def test_refuses_non_gsm_when_gsm_forced_and_lone_surrogate() -> None:
    with pytest.raises(ValidationError):
        count_segments("Привет", encoding=SmsEncoding.GSM7)
    with pytest.raises(ValidationError):
        encode_parts("a\ud800b")


def test_decode_payload_codings() -> None:
    assert decode_payload("Жук".encode("utf-16-be"), 8) == "Жук"
    assert decode_payload(b"caf\xe9", 3) == "café"
    assert decode_payload(b"abc", 1) == "abc"
    assert decode_payload(b"\x1b\x65", 0) == "€"
    assert decode_payload(b"\x1b\x65", 0xF0) == "€"
    with pytest.raises(ProtocolError):
        decode_payload(b"\x00", 8)
    with pytest.raises(ProtocolError):
        decode_payload(b"\x80", 0)
    with pytest.raises(ProtocolError):
        decode_payload(b"\x00\x01", 4)


def _units_of(part: EncodedPart, encoding: SmsEncoding, packed: bool) -> int:
    """Units measured from the bytes themselves, not from what the encoder claims."""
    if encoding is SmsEncoding.UCS2:
        return len(part.payload) // 2
    if not packed:
        return len(part.payload)
    return part.units


def _check(text: str, packed: bool) -> None:
    count = count_segments(text)
    message = encode_parts(text, packed=packed)
    assert message.encoding is count.encoding is choose_encoding(text)
    assert len(message.parts) == count.parts
    assert "".join(p.text for p in message.parts) == text
    assert decode(message) == text
    limit = count.per_part
    for part in message.parts:
        units = _units_of(part, message.encoding, packed)
        assert units <= limit
        if message.encoding is SmsEncoding.GSM7 and packed:
            # packed parts plus a 6-octet UDH fit 140 octets
            assert len(part.payload) + (6 if len(message.parts) > 1 else 0) <= 140
        else:
            octet_limit = 160 if message.encoding is SmsEncoding.GSM7 else 140
            udh = 6 if len(message.parts) > 1 else 0
            assert len(part.payload) + udh <= octet_limit
    assert _units_of(message.parts[-1], message.encoding, packed) == count.used_in_last_part
    assert count.used_in_last_part + count.left_in_last_part == limit
    # no part could have taken the first character of the next one
    for a, b in zip(message.parts, message.parts[1:], strict=False):
        first = count_segments(b.text[0]).units if message.encoding is SmsEncoding.GSM7 else (
            2 if ord(b.text[0]) > 0xFFFF else 1
        )
        assert a.units + first > limit


@settings(max_examples=300, deadline=None)
@given(text=gsm_text, packed=st.booleans())
def test_gsm_parts_match_count_and_round_trip(text: str, packed: bool) -> None:
    _check(text, packed)


@settings(max_examples=300, deadline=None)
@given(text=mixed_text)
def test_mixed_parts_match_count_and_round_trip(text: str) -> None:
    _check(text, packed=False)


@settings(max_examples=200, deadline=None)
@given(text=any_text)
def test_any_text_round_trips(text: str) -> None:
    _check(text, packed=False)


@settings(max_examples=300, deadline=None)
@given(septets=st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)),
       fill=st.sampled_from([0, 1]))
def test_pack_unpack_round_trip(septets: bytes, fill: int) -> None:
    packed = pack_septets(septets, fill_bits=fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8
    assert unpack_septets(packed, count=len(septets), fill_bits=fill) == septets
