"""Reading contact files (CSV from Excel or 1C, vCard from phones and mail programs).

Bytes in, `ImportRow`s out: the encoding (UTF-8 or cp1251) and the CSV delimiter
are detected, headers are matched in English or Russian, several phones or e-mails
in one cell are split. Rows that can't be used come back as rejects with their line
number; `import_contacts` then writes the rest, deduplicating through identities.
"""

from __future__ import annotations

import csv
import io
import quopri
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hub.activity.addresses import normalize, split_multi
from hub.activity.repos import ContactRepo
from hub.activity.schema import contacts as contacts_table
from hub.activity.schema import organizations
from hub.errors import InvalidAddress, ValidationError
from hub.model import Address, AddressKind

#: Column header (case-folded) → field. Russian headers are those 1C and Excel users write.
HEADERS: dict[str, str] = {
    "name": "name",
    "full name": "name",
    "fio": "name",
    "фио": "name",
    "имя": "name",
    "наименование": "name",
    "контактное лицо": "name",
    "organization": "organization",
    "organisation": "organization",
    "company": "organization",
    "организация": "organization",
    "компания": "organization",
    "контрагент": "organization",
    "position": "position",
    "title": "position",
    "job title": "position",
    "должность": "position",
    "phone": "phone",
    "phones": "phone",
    "mobile": "phone",
    "tel": "phone",
    "телефон": "phone",
    "телефоны": "phone",
    "мобильный": "phone",
    "мобильный телефон": "phone",
    "email": "email",
    "e-mail": "email",
    "emails": "email",
    "mail": "email",
    "почта": "email",
    "электронная почта": "email",
    "эл. почта": "email",
    "region": "region",
    "регион": "region",
    "city": "city",
    "город": "city",
    "importance": "importance",
    "важность": "importance",
    "segment": "segment",
    "abc": "segment",
    "сегмент": "segment",
    "abc-класс": "segment",
    "telegram": "telegram",
    "телеграм": "telegram",
    "whatsapp": "whatsapp",
    "viber": "viber",
    "vk": "vk",
}
ADDRESS_FIELDS = {
    "phone": AddressKind.PHONE,
    "email": AddressKind.EMAIL,
    "telegram": AddressKind.TELEGRAM,
    "whatsapp": AddressKind.WHATSAPP,
    "viber": AddressKind.VIBER,
    "vk": AddressKind.VK,
}
PLAIN_FIELDS = ("position", "region", "city", "importance", "segment")
#: Longest text each field may hold (the columns' sizes); a longer cell is a reject.
MAX_LENGTH = {
    "name": 300,
    "organization": 300,
    "position": 200,
    "region": 200,
    "city": 200,
    "importance": 50,
    "segment": 50,
}
#: Characters of an unknown header quoted back in an error; the rest is cut.
MAX_SHOWN_HEADER = 200


@dataclass(slots=True)
class ImportRow:
    """One contact read from a file, with the line it started on."""

    line: int
    name: str
    name_given: bool = True
    organization: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    addresses: list[Address] = field(default_factory=list)


@dataclass(slots=True)
class Reject:
    line: int
    reason: str


@dataclass(slots=True)
class Rejected:
    """The lines an import refused, with why (shared by the contact and employee imports)."""

    rejects: list[Reject] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def rejects_dict(self) -> dict[str, Any]:
        return {
            "rejected": self.rejected,
            "rejects": [{"line": r.line, "reason": r.reason} for r in self.rejects],
        }


@dataclass(slots=True)
class ImportReport(Rejected):
    """What an import did; `as_dict` is the `--json` output."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            **self.rejects_dict(),
        }


def shown_header(header: list[str]) -> str:
    """A file's header as an error quotes it, cut at `MAX_SHOWN_HEADER` characters."""
    shown = repr(header)
    return shown if len(shown) <= MAX_SHOWN_HEADER else shown[:MAX_SHOWN_HEADER] + "…"


#: Byte-order marks and the encodings they announce (UTF-16 is Excel's "Unicode text").
BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
#: Tried in order on a file without a BOM: what Russian Excel and 1C write.
FALLBACK_ENCODINGS = ("utf-8", "cp1251")


def decode(data: bytes) -> str:
    """The whole file as text: by its BOM, else UTF-8, else cp1251.

    Always the whole file: a sample cut at a fixed byte count can split a two-byte
    letter and send a good UTF-8 file down the cp1251 path. Bytes that are none of
    these are a `ValidationError`, never a `UnicodeDecodeError`.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    f"the file starts with a {encoding} byte-order mark but is not in that "
                    f"encoding (byte {exc.start + len(bom)})",
                    field="encoding",
                ) from exc
    for encoding in FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(
        "the file is neither UTF-8 nor cp1251 text; save it as CSV UTF-8", field="encoding"
    )


def _row_from(line: int, values: dict[str, str], region: str) -> ImportRow | Reject:
    for field_name, limit in MAX_LENGTH.items():
        if len((values.get(field_name) or "").strip()) > limit:
            return Reject(line, f"{field_name}: longer than {limit} characters")
    name = (values.get("name") or "").strip()
    name_given = bool(name)
    addresses: list[Address] = []
    for field_name, kind in ADDRESS_FIELDS.items():
        for raw in split_multi(values.get(field_name) or ""):
            try:
                normalize(kind, raw, region)
            except InvalidAddress as exc:
                return Reject(line, f"{field_name}: {exc}")
            addresses.append(Address(kind=kind, value=raw))
    if not name:
        if not addresses:
            return Reject(line, "no name and no phone or e-mail")
        name = addresses[0].value
    fields = {k: values[k].strip() for k in PLAIN_FIELDS if (values.get(k) or "").strip()}
    org = (values.get("organization") or "").strip() or None
    return ImportRow(
        line=line,
        name=name,
        name_given=name_given,
        organization=org,
        fields=fields,
        addresses=addresses,
    )


def _first_row_per_address(
    rows: list[ImportRow], rejects: list[Reject], region: str
) -> tuple[list[ImportRow], list[Reject]]:
    """Reject a row that repeats an address of an earlier row of the same file.

    Two rows sharing a number would otherwise both update one contact, the later
    name winning on every run, so a re-import would never be a no-op.
    """
    seen: dict[tuple[AddressKind, str], int] = {}
    kept: list[ImportRow] = []
    rejects = list(rejects)
    for row in rows:
        keys = [(a.kind, normalize(a.kind, a.value, region)) for a in row.addresses]
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is not None:
            kind, value = next(k for k in keys if k in seen)
            rejects.append(Reject(row.line, f"{kind.value} {value} is already on line {earlier}"))
            continue
        for key in keys:
            seen.setdefault(key, row.line)
        kept.append(row)
    rejects.sort(key=lambda r: r.line)
    return kept, rejects


def parse_csv(data: bytes, region: str = "RU") -> tuple[list[ImportRow], list[Reject]]:
    """Rows and rejects of a CSV file (delimiter `,` `;` or tab, detected)."""
    return _parse_csv_text(decode(data), region)


#: What separates cells: sniffed among these.
DELIMITERS = ",;\t"


def csv_records(text: str) -> list[tuple[int, list[str]]]:
    """The records of CSV text with the line each starts on, header included.

    The delimiter (`,` `;` or tab) is sniffed; text that is no CSV (a NUL, a stray
    carriage return inside a field, a field past the size limit, a quote opened and never
    closed) is a `ValidationError` naming the line. The text is read strictly first: read
    leniently, an unclosed quote swallows every row after it into one cell, and the rest
    of the file would be one contact. What only strict reading refuses (``"a"b``: text
    after a closing quote) is then read leniently, as spreadsheets mean it.
    """
    if "\x00" in text:
        raise ValidationError("the file holds NUL characters: it is not a text file", field="file")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=DELIMITERS)
    except csv.Error:  # rows of unequal length defeat the sniffer: go by the header
        dialect = _by_header(text)
    try:
        return _records(text, _strictly(dialect))
    except _Unclosed as exc:
        raise ValidationError(
            f'line {exc.line}: a quoted field starts here and is never closed (a " without its pair)',
            field="file",
        ) from exc
    except ValidationError:
        return _records(text, dialect)


def _by_header(text: str) -> Any:
    """The dialect whose delimiter the first line holds most of (a comma on a tie): a
    Russian spreadsheet's ``ФИО;Телефон`` is read by ``;`` even when a ragged row made
    the sniffer give up."""
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=lambda d: (first.count(d), d == ","))

    class ByHeader(csv.excel):
        pass

    ByHeader.delimiter = delimiter
    return ByHeader


class _Unclosed(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _strictly(dialect: Any) -> Any:
    class Strict(dialect):  # type: ignore[misc]
        strict = True

    return Strict


def _records(text: str, dialect: Any) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    records: list[tuple[int, list[str]]] = []
    line = 1  # where the record being read starts
    try:
        for cells in reader:
            records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        if str(exc) == "unexpected end of data":
            raise _Unclosed(line) from exc
        raise ValidationError(f"line {reader.line_num}: {exc}", field="file") from exc
    return records


def _parse_csv_text(text: str, region: str) -> tuple[list[ImportRow], list[Reject]]:
    records = csv_records(text)
    if not records:
        return [], [Reject(1, "the file is empty")]
    header = records[0][1]
    columns = [HEADERS.get(h.strip().casefold()) for h in header]
    if "name" not in columns and not any(c in ADDRESS_FIELDS for c in columns if c):
        raise ValidationError(
            f"no known column in the header {shown_header(header)}; expected e.g. name, phone, email",
            field="header",
        )
    rows: list[ImportRow] = []
    rejects: list[Reject] = []
    for line, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            rejects.append(
                Reject(line, f"{len(cells)} cells but the header has {len(columns)} columns")
            )
            continue
        values: dict[str, str] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column:
                values[column] = f"{values[column]};{cell}" if values.get(column) else cell
        parsed = _row_from(line, values, region)
        (rejects if isinstance(parsed, Reject) else rows).append(parsed)  # type: ignore[arg-type]
    return _first_row_per_address(rows, rejects, region)


_VCARD_LINE = re.compile(r"^(?P<name>[^:;]+)(?P<params>(?:;[^:]*)?):(?P<value>.*)$")


def _vcard_value(params: str, value: str) -> str:
    upper = params.upper()
    if "QUOTED-PRINTABLE" in upper:
        charset = re.search(r"CHARSET=([\w-]+)", params, re.I)
        raw = quopri.decodestring(value.encode("latin-1", "replace"))
        try:
            return raw.decode(charset.group(1) if charset else "utf-8", "replace")
        except LookupError:  # a charset Python doesn't know: read it as UTF-8
            return raw.decode("utf-8", "replace")
    return value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ")


def parse_vcard(data: bytes, region: str = "RU") -> tuple[list[ImportRow], list[Reject]]:
    """Rows and rejects of a .vcf file holding one or more vCards (2.1, 3.0, 4.0)."""
    return _parse_vcard_text(decode(data), region)


def _parse_vcard_text(text: str, region: str) -> tuple[list[ImportRow], list[Reject]]:
    text = text.replace("\r\n", "\n")
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + raw[1:])
        elif lines and lines[-1][1].endswith("=") and "QUOTED-PRINTABLE" in lines[-1][1].upper():
            lines[-1] = (lines[-1][0], lines[-1][1][:-1] + raw)
        else:
            lines.append((number, raw))
    rows: list[ImportRow] = []
    rejects: list[Reject] = []
    card: dict[str, str] | None = None
    start = 0
    for number, line in lines:
        if line.strip().upper() == "BEGIN:VCARD":
            card, start = {}, number
            continue
        if line.strip().upper() == "END:VCARD":
            if card is not None:
                parsed = _row_from(start, card, region)
                (rejects if isinstance(parsed, Reject) else rows).append(parsed)  # type: ignore[arg-type]
            card = None
            continue
        if card is None:
            continue
        match = _VCARD_LINE.match(line)
        if not match:
            continue
        name = match["name"].split(".")[-1].upper()
        value = _vcard_value(match["params"], match["value"]).strip()
        if not value:
            continue
        if name == "FN":
            card["name"] = value
        elif name == "N" and "name" not in card:
            card["name"] = " ".join(p for p in reversed(value.split(";")[:2]) if p).strip()
        elif name == "ORG":
            card["organization"] = value.split(";")[0]
        elif name == "TITLE":
            card["position"] = value
        elif name in ("TEL", "EMAIL"):
            key = "phone" if name == "TEL" else "email"
            value = value.removeprefix("tel:").removeprefix("mailto:")
            card[key] = f"{card[key]};{value}" if key in card else value
        elif name == "ADR":
            parts = value.split(";")
            if len(parts) > 4 and parts[3]:
                card["city"] = parts[3]
            if len(parts) > 4 and parts[4]:
                card["region"] = parts[4]
    if card is not None:
        rejects.append(Reject(start, "vCard without END:VCARD"))
    return _first_row_per_address(rows, rejects, region)


def parse_file(
    data: bytes, filename: str, region: str = "RU"
) -> tuple[list[ImportRow], list[Reject]]:
    """Pick the parser by content: vCard if it starts like one, else CSV."""
    text = decode(data)
    if text.lstrip()[:11].upper() == "BEGIN:VCARD" or filename.lower().endswith(
        (".vcf", ".vcard")
    ):
        return _parse_vcard_text(text, region)
    return _parse_csv_text(text, region)


async def _same_name(repo: ContactRepo, row: ImportRow) -> list[int]:
    """Live contacts with the row's exact name and organisation: a row without an address
    can only be recognised by these, or every re-import would create it again."""
    stmt = (
        select(contacts_table.c.id)
        .select_from(
            contacts_table.outerjoin(organizations, organizations.c.id == contacts_table.c.organization_id)
        )
        .where(contacts_table.c.name == row.name, contacts_table.c.merged_into_id.is_(None))
        .order_by(contacts_table.c.id)
        .limit(2)
    )
    if row.organization is None:
        stmt = stmt.where(contacts_table.c.organization_id.is_(None))
    else:
        stmt = stmt.where(organizations.c.name == row.organization)
    async with repo.engine.connect() as conn:
        return [int(i) for i in (await conn.execute(stmt)).scalars()]


async def import_contacts(
    contacts: ContactRepo, rows: list[ImportRow], rejects: list[Reject], progress: Any = None
) -> ImportReport:
    """Create or update contacts; an address owned by two different contacts is a reject.

    A row is matched by its addresses, or, when it has none, by its exact name and
    organisation, so importing an unchanged file again creates and updates nothing.
    """
    report = ImportReport(rejects=list(rejects))
    for row in rows:
        try:
            await _import_row(contacts, row, report)
        except ValidationError as exc:
            report.rejects.append(Reject(row.line, str(exc)))
        if progress is not None:
            progress(1)
    report.rejects.sort(key=lambda r: r.line)
    return report


async def _import_row(repo: ContactRepo, row: ImportRow, report: ImportReport) -> None:
    if row.addresses:
        owners = set((await repo.owners(row.addresses)).values())
        clash = "its addresses belong to different contacts"
    else:
        owners = set(await _same_name(repo, row))
        clash = f"several contacts are called {row.name!r}; add a phone or e-mail to tell which"
    if len(owners) > 1:
        ids = ", ".join(f"#{o}" for o in sorted(owners))
        report.rejects.append(Reject(row.line, f"{clash} ({ids})"))
    elif owners:
        fields: dict[str, Any] = dict(row.fields)
        if row.name_given:
            fields.update(name=row.name, is_lead=False)
        changed = await repo.update(
            owners.pop(), add_addresses=row.addresses, organization=row.organization, **fields
        )
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
    else:
        await repo.create(
            row.name, addresses=row.addresses, organization=row.organization, **row.fields
        )
        report.created += 1
