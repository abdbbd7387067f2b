"""Reading an employees file: Russian or English headers, the delimiter of a ragged file,
and every refusal with its line."""

from __future__ import annotations

import pytest

from hub.activity.contact_import import csv_records
from hub.activity.employee_import import parse_employees
from hub.errors import ValidationError
from hub.model import Address, AddressKind


def test_russian_headers_in_cp1251_with_a_ragged_row() -> None:
    """Rows of unequal length made the sniffer give up and the file was read by commas:
    «ФИО;Должность;…» became one column, and every row «employee name is empty»."""
    data = (
        "ФИО;Должность;Руководитель;Внутренний;Почта;Телеграм\n"
        "Сидорова Анна;Руководитель отдела;;701;anna@acme.ru;\n"
        "Котов Илья;Менеджер;Сидорова Анна;702, 703;;@kotov\n"
        ";;;;\n"
        ";Без имени;;;;\n"
        "Лишний;1;2;3;4;5;6;7\n"
    ).encode("cp1251")
    rows, rejects = parse_employees(data)
    assert [(r.line, r.name, r.position, r.head) for r in rows] == [
        (2, "Сидорова Анна", "Руководитель отдела", ""),
        (3, "Котов Илья", "Менеджер", "Сидорова Анна"),
    ]
    assert rows[1].addresses == [
        Address(kind=AddressKind.EXTENSION, value="702"),
        Address(kind=AddressKind.EXTENSION, value="703"),
        Address(kind=AddressKind.TELEGRAM, value="@kotov"),
    ]
    assert [(r.line, r.reason) for r in rejects] == [
        (5, "employee name is empty"),
        (6, "8 cells but the header has 6 columns"),
    ]


def test_a_file_without_a_name_column_or_without_anything_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"no name column in the header \['Отдел', 'Телефон'\]"):
        parse_employees("Отдел;Телефон\nПродажи;101\n".encode())
    with pytest.raises(ValidationError, match=r"^the file is empty$"):
        parse_employees(b"")


def test_a_ragged_file_is_read_by_the_delimiter_its_header_holds_most_of() -> None:
    text = "name;phone;city\nАнна;+79161112233;Казань\nИван;+79161112234\nОля;;;;\n"
    assert [cells for _, cells in csv_records(text)][:2] == [["name", "phone", "city"], ["Анна", "+79161112233", "Казань"]]
    assert [cells for _, cells in csv_records("name,phone\nАнна,1\nИван\n")][1] == ["Анна", "1"]
