"""Reading contact files: CSV in UTF-8 and cp1251, vCard, bad rows with line numbers."""

from __future__ import annotations

import pytest

from hub.activity.contact_import import parse_csv, parse_file, parse_vcard
from hub.errors import ValidationError
from hub.model import AddressKind


def test_csv_with_english_headers_and_several_phones_in_a_cell() -> None:
    data = (
        b"name,organization,position,phone,email,region,importance,segment,telegram\n"
        b'Ivan Petrov,Acme,Director,"+7 495 1234567; 8 916 111-22-33",ivan@acme.ru,Moscow,high,A,@ivanp\n'
    )
    rows, rejects = parse_csv(data)
    assert rejects == []
    (row,) = rows
    assert row.name == "Ivan Petrov" and row.organization == "Acme"
    assert row.fields == {
        "position": "Director",
        "region": "Moscow",
        "importance": "high",
        "segment": "A",
    }
    kinds = sorted(a.kind.value for a in row.addresses)
    assert kinds == ["email", "phone", "phone", "telegram"]


def test_cp1251_semicolon_file_with_russian_headers() -> None:
    text = "ФИО;Организация;Телефон;Почта;Город\nИванов Иван;ООО Ромашка;8 (495) 123-45-67;ivanov@romashka.ru;Москва\n"
    rows, rejects = parse_csv(text.encode("cp1251"))
    assert rejects == []
    assert rows[0].name == "Иванов Иван" and rows[0].organization == "ООО Ромашка"
    assert rows[0].fields["city"] == "Москва"


def test_bad_rows_are_rejected_with_their_line_number() -> None:
    data = (
        b"name,phone,email\n"
        b"Good,+74951234567,\n"
        b"Bad phone,12,\n"
        b",,\n"
        b"Bad mail,,not-an-address\n"
        b"Too,many,cells,here\n"
        b",+74957654321,\n"
    )
    rows, rejects = parse_csv(data)
    assert [r.name for r in rows] == ["Good", "+74957654321"]
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [
        (3, "phone"),
        (5, "email"),
        (6, "4 cells but the header has 3 columns"),
    ]


def test_header_without_known_columns_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="no known column"):
        parse_csv(b"foo,bar\n1,2\n")


def test_vcard_21_quoted_printable_and_30() -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD\r\n"
        b"TEL;CELL:+79161234567\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Petrov;Petr;;;\r\nORG:Acme;Sales\r\nTITLE:Manager\r\n"
        b"EMAIL;TYPE=INTERNET:petr@acme.ru\r\nTEL;TYPE=WORK:+7 495 765-43-21\r\n"
        b"ADR;TYPE=WORK:;;Tverskaya 1;Moscow;Moscow region;;Russia\r\nEND:VCARD\r\n"
    )
    rows, rejects = parse_vcard(data)
    assert rejects == []
    assert rows[0].name == "Иван" and rows[0].addresses[0].kind is AddressKind.PHONE
    assert rows[1].name == "Petr Petrov" and rows[1].organization == "Acme"
    assert rows[1].fields == {"position": "Manager", "city": "Moscow", "region": "Moscow region"}
    assert rows[1].line == 6


def test_parse_file_recognises_vcard_by_content() -> None:
    rows, _ = parse_file(b"BEGIN:VCARD\nFN:X\nEMAIL:x@example.com\nEND:VCARD\n", "contacts.txt")
    assert rows[0].name == "X"


def test_an_unclosed_quote_is_refused_with_its_line_not_swallowing_the_rest() -> None:
    """Read leniently, the rest of the file after an unmatched quote is one cell: one contact
    called «Пётр,+7916…\nАнна,…», and every row after it gone, reported as created."""
    data = 'name,phone\nИван,+79161112233\n"Пётр,+79161112234\nАнна,+79161112235\n'.encode()
    with pytest.raises(ValidationError, match=r'^line 3: a quoted field starts here and is never closed \(a " without its pair\)$'):
        parse_csv(data)


def test_quotes_that_only_strict_reading_refuses_are_read_as_spreadsheets_mean_them() -> None:
    """A space after a closing quote (a hand-edited file) stops strict reading; read
    leniently it is part of the cell, as before. A quoted cell may hold commas and lines."""
    data = 'name,phone,city\n"Иван Петров" ,+79161112233,"Казань,\nцентр"\n'.encode()
    (row,), rejects = parse_csv(data)
    assert rejects == []
    assert row.name == "Иван Петров" and row.fields["city"] == "Казань,\nцентр"
