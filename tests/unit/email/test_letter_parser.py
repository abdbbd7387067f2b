"""Letter parsing: bytes in, `ParsedLetter` out — charsets, broken headers, bounces, hostile MIME."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.channels.email.charsets import decode_text
from hub.channels.email.imap_protocol import parse_bodystructure, parse_fetch
from hub.channels.email.letter_parser import (
    LetterParseError,
    decode_header,
    normalize_message_id,
    parse_date,
    parse_message,
    parse_parts,
)
from tests.helpers import mail_samples as S

RU_SUBJECT = "Счёт на оплату"
RU_BODY = "Добрый день! Прошу выставить счёт."

CHARSET_CASES = [
    pytest.param(S.legacy("koi8-r"), id="koi8-r"),
    pytest.param(S.legacy("cp1251"), id="cp1251-8bit"),
    pytest.param(S.legacy("cp1251", encoding="base64"), id="cp1251-base64"),
    pytest.param(S.legacy("utf-8", encoding="base64"), id="utf-8-base64"),
    pytest.param(
        S.legacy("cp1251", label="koi8-r", header_label="koi8-r"), id="cp1251-labelled-koi8"
    ),
    pytest.param(
        S.legacy("koi8-r", label="windows-1251", header_label="windows-1251"), id="koi8-as-1251"
    ),
    pytest.param(
        S.legacy("cp1251", label="utf-8", header_label="utf-8"), id="cp1251-labelled-utf8"
    ),
    pytest.param(
        S.legacy("cp1251", label="iso-8859-1", header_label="iso-8859-1"), id="cp1251-as-latin1"
    ),
    pytest.param(
        S.legacy("cp1251", label="x-unknown", header_label="unknown-8bit"), id="unknown-label"
    ),
    pytest.param(S.legacy("cp866"), id="cp866"),
]


@pytest.mark.parametrize("raw", CHARSET_CASES)
def test_every_charset_russian_mail_uses(raw: bytes) -> None:
    letter = parse_message(raw)
    assert letter.subject == RU_SUBJECT
    assert letter.preview == RU_BODY
    assert letter.from_[0].name == "Иван Петров"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"=?koi8-r?B?8NLJ18XU?= =?koi8-r?B?INfTxc0=?=", "Привет всем"),
        (b"=?utf-8?q?=D0=9F=D1=80?= x", "Пр x"),
        # a UTF-8 character split across two encoded words (common in long subjects)
        (b"=?utf-8?B?0J/R?= =?utf-8?B?gNC4?=", "При"),
        (b"Re: =?windows-1251?B?0ffl8g==?=", "Re: Счет"),
        (b"=?utf-8?B?broken", "=?utf-8?B?broken"),
        ("Срочно".encode("cp1251"), "Срочно"),
    ],
)
def test_rfc2047_and_raw_headers(raw: bytes, expected: str) -> None:
    assert decode_header(raw.decode("ascii", "surrogateescape")) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@host>", "abc@host"),
        ("  <abc@host> (comment)", "abc@host"),
        ("abc@host", "abc@host"),
        ("<a b@host>", "ab@host"),
        ("", None),
        (None, None),
        ("<" + "x" * 300 + "@host>", "long."),
    ],
)
def test_message_id_normalisation(value: str | None, expected: str | None) -> None:
    got = normalize_message_id(value)
    if expected == "long.":
        assert got is not None and got.startswith("long.") and len(got) < 100
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 2 Mar 2026 12:30:00 +0300", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("2 Mar 2026 09:30:00 -0000", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("Понедельник, вчера", None),
        ("Thu, 01 Jan 1970 00:00:00 +0000", None),
        (None, None),
    ],
)
def test_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_date(value) == expected


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    first = parse_message(S.simple(message_id=None, date=None))
    again = parse_message(S.simple(message_id=None, date=None, headers={"Received": "by mx2"}))
    other = parse_message(S.simple(message_id=None, date=None, body="something else"))
    assert first.synthetic_id and first.message_id.startswith("synthetic.")
    assert first.message_id == again.message_id != other.message_id
    assert first.date is None


def test_attachments_names_and_sizes_only() -> None:
    letter = parse_message(S.with_attachment(size=3000))
    assert letter.preview == "Договор во вложении."
    [attachment] = letter.attachments
    assert attachment.name == "Договор №5.pdf" and attachment.content_type == "application/pdf"
    assert abs(attachment.size - 3004) < 100


def test_html_only_letter_preview() -> None:
    assert parse_message(S.html_only()).preview == "Привет & пока"


@pytest.mark.parametrize(
    ("raw", "reason", "list_id"),
    [
        (S.auto_reply("auto-submitted"), "Auto-Submitted: auto-replied", None),
        (S.auto_reply("x-autoreply"), "x-autoreply", None),
        (S.auto_reply("precedence"), "Precedence: auto_reply", None),
        (S.mailing_list(), None, "Shop news <news.shop.example>"),
        (S.simple(headers={"Auto-Submitted": "no"}), None, None),
    ],
)
def test_automatic_mail_is_recognised(raw: bytes, reason: str | None, list_id: str | None) -> None:
    letter = parse_message(raw)
    assert letter.auto_reply == reason
    assert letter.list_id == list_id


@pytest.mark.parametrize("headers_only", [False, True])
def test_delivery_status_notification(headers_only: bool) -> None:
    letter = parse_message(S.dsn(headers_only=headers_only))
    assert letter.is_delivery_report and letter.report is not None
    assert letter.report.original_message_id == "out1@acme.ru"
    [failure] = letter.report.failures
    assert failure.recipient == "client@example.com" and failure.action == "failed"
    assert failure.status == "5.1.1"
    assert failure.diagnostic == "550 5.1.1 <client@example.com>: Recipient address rejected"


def test_thread_key_from_references_then_in_reply_to() -> None:
    refs = parse_message(S.simple(headers={"References": "<a@x> <b@x>", "In-Reply-To": "<b@x>"}))
    reply = parse_message(S.simple(headers={"In-Reply-To": "<b@x>"}))
    alone = parse_message(S.simple())
    assert (refs.thread_key, reply.thread_key, alone.thread_key) == ("a@x", "b@x", "m1@example.com")


@pytest.mark.parametrize(
    "raw",
    [S.garbage(), b"", b"just words\r\nno headers\r\n\r\nbody"],
    ids=["binary", "empty", "text"],
)
def test_what_is_not_a_letter_raises(raw: bytes) -> None:
    with pytest.raises(LetterParseError):
        parse_message(raw)


def test_absurdly_deep_mime_is_cut_not_fatal() -> None:
    letter = parse_message(S.deep_mime(60))
    assert letter.subject == "deep"
    assert any("deeper" in d for d in letter.defects)


def test_imap_pieces_give_the_same_letter_as_the_whole_bytes() -> None:
    """The IMAP path (header + BODYSTRUCTURE + first bytes of the text) agrees with bytes."""
    raw = S.with_attachment()
    header, _, _ = raw.partition(b"\n\n")
    structure = (
        b'((("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 39 1 NIL NIL NIL NIL)'
        b'("text" "html" ("charset" "utf-8") NIL NIL "8bit" 53 1 NIL NIL NIL NIL)'
        b' "alternative" ("boundary" "b2") NIL NIL NIL)'
        b'("application" "pdf" NIL NIL NIL "base64" 4114 NIL ("attachment" ("filename*"'
        b" \"utf-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80 %E2%84%965.pdf\")) NIL NIL)"
        b' "mixed" ("boundary" "b1") NIL NIL NIL)'
    )
    [fetched] = parse_fetch([b"1 FETCH (UID 7 BODYSTRUCTURE " + structure + b")", b"done"])
    skeleton = parse_bodystructure(fetched.items["BODYSTRUCTURE"])
    text = "Договор во вложении.\r\n".encode()
    from_parts = parse_parts(header.replace(b"\n", b"\r\n") + b"\r\n\r\n", skeleton, text)
    whole = parse_message(raw)
    assert from_parts.message_id == whole.message_id
    assert from_parts.subject == whole.subject and from_parts.preview == whole.preview
    assert [a.name for a in from_parts.attachments] == [a.name for a in whole.attachments]


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        ("café résumé".encode("latin-1"), "iso-8859-1", "café résumé"),
        ("café résumé".encode("latin-1"), None, "café résumé"),
        ("Привет мир, как дела".encode()[:-1], "utf-8", "Привет мир, как дел"),
        ("Привет".encode("koi8-r"), "koi8", "Привет"),
    ],
)
def test_decode_text(data: bytes, label: str | None, expected: str) -> None:
    assert decode_text(data, label, truncated=True) == expected
