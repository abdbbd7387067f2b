"""Outgoing letter bytes: the hand-written RFC 2047 subject decodes back to what was given."""

from __future__ import annotations

import base64
from email.header import decode_header, make_header

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.channels.email.letter_builder import HEADER_LINE, _encode, build_letter
from hub.channels.email.letter_parser import parse_message
from hub.model import Address, AddressKind, Channel, OutgoingMessage, utcnow


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


@pytest.mark.parametrize(
    "subject",
    [
        "Invoice 5",
        "é",
        "Счёт №7",
        "Счёт №5 на оплату, " * 8,
        "x" * 44 + "ё" * 30,  # a two-byte character across the 45-byte word boundary
        "日本語のテキスト" * 9,
        "😀x" * 30,  # four-byte characters
    ],
)
def test_subject_words_decode_back_and_stay_within_the_line(subject: str) -> None:
    encoded = _encode(subject)
    assert encoded.isascii()
    assert decoded(encoded) == subject
    assert all(len(line) <= HEADER_LINE for line in encoded.split("\r\n"))


@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=300).filter(
        lambda s: not s.isascii()
    )
)
def test_any_non_ascii_subject_round_trips(subject: str) -> None:
    """Control characters are replaced (see the injection test); everything else survives."""
    encoded = _encode(subject)
    assert decoded(encoded) == subject
    assert all(len(line) <= HEADER_LINE for line in encoded.split("\r\n"))
    for word in encoded.split("\r\n "):  # each word is whole characters (RFC 2047 §5)
        assert word.startswith("=?utf-8?b?") and word.endswith("?=")
        base64.b64decode(word[len("=?utf-8?b?") : -2]).decode("utf-8")  # strict: no split char


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    assert decoded(_encode("Счёт \ud800 №5")) == "Счёт \ufffd №5"
    assert decoded(_encode("😀 \ud83d\ude00")) == "😀 😀"  # a proper pair survives


def test_the_parser_reads_the_subject_we_wrote() -> None:
    subject = "Счёт №5 на оплату " * 6 + "— итог"
    message = OutgoingMessage(
        channel=Channel.EMAIL,
        to=(Address(kind=AddressKind.EMAIL, value="client@example.com"),),
        subject=subject,
        body="Добрый день!",
    )
    sender = Address(kind=AddressKind.EMAIL, value="ivan@acme.ru")
    raw = build_letter(message, sender=sender, message_id="1.a@acme.ru", date=utcnow())
    assert parse_message(raw).subject == " ".join(subject.split())


@pytest.mark.parametrize(
    "subject",
    ["Hi\r\nBcc: evil@example.com", "Hi\nBcc: evil@example.com", "Привет\r\nBcc: evil@example.com"],
)
def test_a_line_break_in_a_value_cannot_inject_a_header(subject: str) -> None:
    import email
    from datetime import UTC, datetime

    from hub.channels.email.letter_builder import build_letter
    from hub.model import Address, AddressKind, Channel, OutgoingMessage

    to = Address(
        kind=AddressKind.EMAIL, value="client@example.com", name="Client\r\nBcc: x@example.com"
    )
    message = OutgoingMessage(
        channel=Channel.EMAIL,
        to=(to,),
        subject=subject,
        body="x",
        headers={"X-Tag\r\nBcc": "y", "X-Ok": "a\r\nBcc: z@example.com"},
    )
    raw = build_letter(
        message,
        sender=Address(kind=AddressKind.EMAIL, value="ivan@acme.ru"),
        message_id="1@acme.ru",
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(raw)
    assert parsed["Bcc"] is None
    assert "Bcc" not in parsed.keys()  # noqa: SIM118 - header names, not a dict
    assert parsed["X-Ok"] is not None and "\n" not in parsed["X-Ok"]
