"""IMAP responses as aioimaplib hands them over (lines and bytearray literals) to values."""

from __future__ import annotations

import pytest

from hub.channels.email.imap_protocol import (
    ImapParseError,
    encode_mailbox,
    parse_bodystructure,
    parse_fetch,
    parse_list,
    parse_search,
    parse_select,
    uid_set,
)

HEADER = b"From: a@b\r\nSubject: x\r\n\r\n"


def test_fetch_with_literals_and_unsolicited_lines() -> None:
    lines = [
        b'1 FETCH (UID 10 RFC822.SIZE 99 INTERNALDATE "02-Mar-2026 09:30:00 +0000" '
        b'BODYSTRUCTURE ("text" "plain" ("charset" "koi8-r") NIL NIL "8bit" 5 1 NIL NIL NIL NIL)'
        b" BODY[HEADER] {" + str(len(HEADER)).encode() + b"}",
        bytearray(HEADER),
        b")",
        b"2 FETCH (FLAGS (\\Seen))",  # unsolicited, no UID: ignored
        b"3 FETCH (UID 12 BODY[1]<0> {0}",
        bytearray(b""),
        b")",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    messages = parse_fetch(lines)
    assert [m.uid for m in messages] == [10, 12]
    assert messages[0].bytes_of("BODY[HEADER]") == HEADER
    assert messages[0].int_of("RFC822.SIZE") == 99
    assert messages[1].bytes_of("BODY[1]") == b""
    structure = parse_bodystructure(messages[0].items["BODYSTRUCTURE"])
    assert structure.content_type == "text/plain" and structure.parts[0].charset == "koi8-r"


@pytest.mark.parametrize(
    ("body", "sections"),
    [
        (b'("text" "plain" NIL NIL NIL "7bit" 1 1)', ["1"]),
        (
            b'(("text" "plain" NIL NIL NIL "7bit" 1 1)("image" "png" ("name" "a.png") NIL NIL'
            b' "base64" 100) "mixed")',
            ["1", "2"],
        ),
        (
            b'((("text" "plain" NIL NIL NIL "7bit" 1 1)("text" "html" NIL NIL NIL "7bit" 1 1)'
            b' "alternative")("application" "pdf" NIL NIL NIL "base64" 10 NIL'
            b' ("attachment" ("filename" "=?utf-8?B?0KHRh9GR0YIucGRm?=")) NIL NIL) "mixed")',
            ["1.1", "1.2", "2"],
        ),
    ],
)
def test_bodystructure_sections(body: bytes, sections: list[str]) -> None:
    [msg] = parse_fetch([b"1 FETCH (UID 1 BODYSTRUCTURE " + body + b")", b"ok"])
    structure = parse_bodystructure(msg.items["BODYSTRUCTURE"])
    assert [p.section for p in structure.parts] == sections
    if sections[-1] == "2" and len(sections) == 3:
        assert structure.attachments()[0].filename == "Счёт.pdf"


def test_bodystructure_nesting_bomb_is_refused() -> None:
    body = b"(" * 100 + b'"text" "plain" NIL NIL NIL "7bit" 1 1' + b")" * 100
    with pytest.raises(ImapParseError):
        parse_fetch([b"1 FETCH (UID 1 BODYSTRUCTURE " + body + b")", b"ok"])


def test_list_select_search() -> None:
    folders = parse_list(
        [
            b'(\\HasNoChildren \\Sent) "/" Sent',
            b'(\\HasNoChildren) "/" "Sent Items"',
            b'() "/" {5}',
            bytearray(b"Inbox"),
            b"List completed.",
        ]
    )
    assert [(f.name, "\\sent" in f.flags) for f in folders] == [
        ("Sent", True),
        ("Sent Items", False),
        ("Inbox", False),
    ]
    info = parse_select(
        [
            b"4 EXISTS",
            b"OK [UIDVALIDITY 1795432272] UIDs valid",
            b"OK [UIDNEXT 5] Predicted next UID",
            b"[READ-ONLY] Examine completed",
        ]
    )
    assert (info.uidvalidity, info.uidnext, info.exists) == (1795432272, 5, 4)
    assert parse_search([b"3 1 2", b"Search completed"]) == [1, 2, 3]
    assert parse_search([b"Search completed"]) == []


@pytest.mark.parametrize(
    ("uids", "expected"), [([1, 2, 3, 7], "1:3,7"), ([5], "5"), ([9, 8, 1], "1,8:9")]
)
def test_uid_set(uids: list[int], expected: str) -> None:
    assert uid_set(uids) == expected


def test_mailbox_names_in_modified_utf7() -> None:
    assert encode_mailbox("Отправленные") == "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"
    assert encode_mailbox("A&B") == "A&-B"
