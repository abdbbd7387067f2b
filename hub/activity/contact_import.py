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

from hub.activity.addresses import normalize, split_multi
from hub.activity.repos import ContactRepo
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
class ImportReport:
    """What an import did; `as_dict` is the `--json` output."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejects": [{"line": r.line, "reason": r.reason} for r in self.rejects],
        }


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1251 — what Russian Excel and 1C write."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _row_from(line: int, values: dict[str, str], region: str) -> ImportRow | Reject:
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


def parse_csv(data: bytes, region: str = "RU") -> tuple[list[ImportRow], list[Reject]]:
    """Rows and rejects of a CSV file (delimiter `,` `;` or tab, detected)."""
    text = decode(data)
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        return [], [Reject(1, "the file is empty")]
    columns = [HEADERS.get(h.strip().casefold()) for h in header]
    if "name" not in columns and not any(c in ADDRESS_FIELDS for c in columns if c):
        raise ValidationError(
            f"no known column in the header {header!r}; expected e.g. name, phone, email",
            field="header",
        )
    rows: list[ImportRow] = []
    rejects: list[Reject] = []
    for cells in reader:
        line = reader.line_num
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
    return rows, rejects


_VCARD_LINE = re.compile(r"^(?P<name>[^:;]+)(?P<params>(?:;[^:]*)?):(?P<value>.*)$")


def _vcard_value(params: str, value: str) -> str:
    upper = params.upper()
    if "QUOTED-PRINTABLE" in upper:
        charset = re.search(r"CHARSET=([\w-]+)", params, re.I)
        raw = quopri.decodestring(value.encode("latin-1", "replace"))
        return raw.decode(charset.group(1) if charset else "utf-8", "replace")
    return value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ")


def parse_vcard(data: bytes, region: str = "RU") -> tuple[list[ImportRow], list[Reject]]:
    """Rows and rejects of a .vcf file holding one or more vCards (2.1, 3.0, 4.0)."""
    text = decode(data).replace("\r\n", "\n")
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
    return rows, rejects


def parse_file(
    data: bytes, filename: str, region: str = "RU"
) -> tuple[list[ImportRow], list[Reject]]:
    """Pick the parser by content: vCard if it starts like one, else CSV."""
    head = decode(data[:200]).lstrip().upper()
    if head.startswith("BEGIN:VCARD") or filename.lower().endswith((".vcf", ".vcard")):
        return parse_vcard(data, region)
    return parse_csv(data, region)


async def import_contacts(
    contacts: ContactRepo, rows: list[ImportRow], rejects: list[Reject], progress: Any = None
) -> ImportReport:
    """Create or update contacts; an address owned by two different contacts is a reject."""
    report = ImportReport(rejects=list(rejects))
    for row in rows:
        try:
            owners = set((await contacts.owners(row.addresses)).values())
            if len(owners) > 1:
                ids = ", ".join(f"#{o}" for o in sorted(owners))
                report.rejects.append(
                    Reject(row.line, f"its addresses belong to different contacts ({ids})")
                )
            elif owners:
                fields: dict[str, Any] = dict(row.fields)
                if row.name_given:
                    fields.update(name=row.name, is_lead=False)
                changed = await contacts.update(
                    owners.pop(),
                    add_addresses=row.addresses,
                    organization=row.organization,
                    **fields,
                )
                if changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
            else:
                await contacts.create(
                    row.name, addresses=row.addresses, organization=row.organization, **row.fields
                )
                report.created += 1
        except ValidationError as exc:
            report.rejects.append(Reject(row.line, str(exc)))
        if progress is not None:
            progress(1)
    report.rejects.sort(key=lambda r: r.line)
    return report
