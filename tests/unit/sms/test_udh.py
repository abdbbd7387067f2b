"""Concatenation UDH: the 8-bit reference header we write and any header we read."""

from __future__ import annotations

import pytest

from hub.channels.sms.udh import Concat, concat_udh, split_udh
from hub.errors import MalformedPdu


def test_concat_udh_bytes() -> None:
    assert concat_udh(0x2A, 3, 2) == bytes.fromhex("0500032a0302")


@pytest.mark.parametrize(
    ("data", "concat", "text"),
    [
        (bytes.fromhex("0500032a0302") + b"hi", Concat(reference=0x2A, total=3, seqnum=2), b"hi"),
        # 16-bit reference (IE 0x08)
        (bytes.fromhex("060804beef0201") + b"x", Concat(reference=0xBEEF, total=2, seqnum=1), b"x"),
        # a port-addressing IE before the concatenation IE
        (
            bytes.fromhex("0b050423f4000000030a0201") + b"y",
            Concat(reference=0x0A, total=2, seqnum=1),
            b"y",
        ),
        (bytes.fromhex("00") + b"plain", None, b"plain"),
    ],
)
def test_split_udh(data: bytes, concat: Concat | None, text: bytes) -> None:
    header, rest = split_udh(data)
    assert header.concat == concat
    assert rest == text


@pytest.mark.parametrize("data", [b"", bytes.fromhex("0500"), bytes.fromhex("0300050102")])
def test_split_udh_refuses_broken_headers(data: bytes) -> None:
    with pytest.raises(MalformedPdu):
        split_udh(data)


def test_concat_udh_refuses_bad_numbers() -> None:
    with pytest.raises(ValueError):
        concat_udh(1, 2, 3)
