"""Employees from a CSV file (UTF-8 or cp1251, as the contact import reads it): headers in
English or Russian, heads created before the people they head, bad rows listed by line.

Importing the same file again creates nothing: an employee whose name is known is left as
it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.activity.addresses import split_multi
from hub.activity.contact_import import Reject, Rejected, csv_records, decode, shown_header
from hub.activity.repos.employees import EmployeeRepo
from hub.errors import TouchhubError, ValidationError
from hub.model import Address, AddressKind

#: Header (case-folded) → column. What 1C's and a spreadsheet's staff lists call them.
HEADERS: dict[str, str] = {
    "name": "name",
    "full name": "name",
    "фио": "name",
    "имя": "name",
    "сотрудник": "name",
    "position": "position",
    "title": "position",
    "job title": "position",
    "должность": "position",
    "head": "head",
    "manager": "head",
    "руководитель": "head",
    "начальник": "head",
    "extension": "extension",
    "ext": "extension",
    "внутренний": "extension",
    "внутренний номер": "extension",
    "добавочный": "extension",
    "email": "email",
    "e-mail": "email",
    "mail": "email",
    "почта": "email",
    "электронная почта": "email",
    "telegram": "telegram",
    "телеграм": "telegram",
}


@dataclass(slots=True)
class EmployeeRow:
    """One employee read from a file, with the line it started on."""

    line: int
    name: str
    position: str | None
    head: str
    addresses: list[Address]


@dataclass(slots=True)
class EmployeeImportReport(Rejected):
    """What an import did; `as_dict` is the `--json` output."""

    created: int = 0
    known: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "known": self.known, **self.rejects_dict()}


def addresses_of(extensions: str, emails: str, telegram: str) -> list[Address]:
    """An employee's addresses from the text of each kind (values separated by , or ;)."""
    return [
        *(Address(kind=AddressKind.EXTENSION, value=v) for v in split_multi(extensions)),
        *(Address(kind=AddressKind.EMAIL, value=v) for v in split_multi(emails)),
        *(Address(kind=AddressKind.TELEGRAM, value=v) for v in split_multi(telegram)),
    ]


def parse_employees(data: bytes) -> tuple[list[EmployeeRow], list[Reject]]:
    """The rows of an employees CSV file and the lines refused while reading it; a file
    that is empty or has no name column is a `ValidationError`."""
    records = csv_records(decode(data))
    if not records:
        raise ValidationError("the file is empty", field="file")
    header = records[0][1]
    columns = [HEADERS.get(h.strip().casefold()) for h in header]
    if "name" not in columns:
        raise ValidationError(
            f"no name column in the header {shown_header(header)}; expected e.g. name, position, head, "
            "extension, email",
            field="header",
        )
    rows: list[EmployeeRow] = []
    rejects: list[Reject] = []
    for line, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            rejects.append(Reject(line, f"{len(cells)} cells but the header has {len(columns)} columns"))
            continue
        values = {c: cell.strip() for c, cell in zip(columns, cells, strict=False) if c}
        if not values.get("name"):
            rejects.append(Reject(line, "employee name is empty"))
            continue
        rows.append(
            EmployeeRow(
                line=line,
                name=values["name"],
                position=values.get("position") or None,
                head=values.get("head", ""),
                addresses=addresses_of(values.get("extension", ""), values.get("email", ""), values.get("telegram", "")),
            )
        )
    return rows, rejects


async def import_employees(
    repo: EmployeeRepo,
    rows: list[EmployeeRow],
    rejects: list[Reject],
    progress: Callable[[int], None] | None = None,
) -> EmployeeImportReport:
    """Add the employees not known by name yet, each head before the people it heads (a
    row whose head comes later in the file waits for a later pass); a head named nowhere
    is a reject."""
    report = EmployeeImportReport(rejects=list(rejects))
    known = {e["name"]: e["id"] for e in await repo.list()}
    refused: dict[str, int] = {}  # names of rows the store refused: their line
    pending = rows
    while pending:
        progressed, waiting = False, []
        for row in pending:
            if row.name in known:
                report.known += 1
            elif row.head and row.head not in known:
                waiting.append(row)
                continue
            else:
                try:
                    known[row.name] = await repo.add(
                        row.name,
                        position=row.position,
                        head_id=known.get(row.head) if row.head else None,
                        addresses=row.addresses,
                    )
                    report.created += 1
                except TouchhubError as exc:
                    report.rejects.append(Reject(row.line, str(exc)))
                    refused.setdefault(row.name, row.line)
            progressed = True
            if progress is not None:
                progress(1)
        if not progressed:
            for row in waiting:
                report.rejects.append(Reject(row.line, _no_head(row.head, refused.get(row.head))))
            if progress is not None:
                progress(len(waiting))
            break
        pending = waiting
    report.rejects.sort(key=lambda r: r.line)
    return report


def _no_head(head: str, refused_on: int | None) -> str:
    if refused_on is not None:
        return f"head {head!r} was not imported (line {refused_on})"
    return f"head {head!r} is not in the file or the store"
