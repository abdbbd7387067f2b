"""KPI tables as files a manager sends on: XLSX laid out like the dashboard, and CSV that
Excel opens right.

Both have the same rows as the table (one per employee × indicator, in the table's
order) and the same columns (`COLUMNS`): names rather than codes, fact, plan and % as
numbers, the arrow (▲ up, ▼ down, = flat) and whether that is better or worse, the
colour as a word. The XLSX gives each period (or each head's team) a sheet with a frozen header, an
autofilter, number formats and the dashboard's fills; the CSV starts with a UTF-8 BOM
and takes the delimiter Excel's locale expects (``;`` for a Russian one).

Every word written comes from a `Labels`: the English default reads the catalogue's
titles; another language plugs in its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, BinaryIO, Protocol

from kpi.results import KpiCell, KpiTable

#: Column keys, in order; `Labels.header` names them.
COLUMNS = (
    "employee_name",
    "indicator_title",
    "fact",
    "plan",
    "percent",
    "arrow",
    "trend",
    "previous",
    "status",
    "period_plan",
    "unit",
    "employee",
    "indicator",
)
#: The arrow of a cell's direction.
ARROWS = {"up": "▲", "down": "▼", "flat": "="}

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
DELIMITERS = (",", ";", "\t")

_FILL = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE"}
_FONT = {"red": "9C0006", "yellow": "9C5700", "green": "006100"}
_GOODNESS_FONT = {"better": "006100", "worse": "9C0006", "same": "595959"}
_FILLED = ("fact", "plan", "percent", "status")
_WIDTH = {"employee_name": 24, "indicator_title": 40, "status": 12, "arrow": 7, "trend": 10}
_MAX_SHEET_TITLE = 31  # Excel's limit


class Labels(Protocol):
    """The words an export writes: column headers, indicator names, colours, trends."""

    def header(self, key: str) -> str:
        """The heading of column `key` (one of `COLUMNS`)."""
        ...

    def indicator(self, code: str, title: str) -> str:
        """The name of indicator `code` (`title` is the catalogue's)."""
        ...

    def status(self, colour: str | None) -> str:
        """The word for a colour (red, yellow, green; None: not judged)."""
        ...

    def trend(self, trend: str | None) -> str:
        """The word for better, worse, same (None: no arrow)."""
        ...

    def sheet(self, table: KpiTable) -> str:
        """The title of a table's sheet."""
        ...

    def team(self, head: str | None) -> str:
        """The title of a head's sheet (None: people nobody is over)."""
        ...


ENGLISH_HEADERS: Mapping[str, str] = {
    "employee_name": "Employee",
    "indicator_title": "Indicator",
    "fact": "Fact",
    "plan": "Plan",
    "percent": "% of plan",
    "arrow": "Arrow",
    "trend": "Trend",
    "previous": "Before",
    "status": "Status",
    "period_plan": "Plan for the period",
    "unit": "Unit",
    "employee": "Employee id",
    "indicator": "Indicator code",
}
ENGLISH_STATUSES: Mapping[str | None, str] = {
    "red": "behind",
    "yellow": "at risk",
    "green": "on track",
    None: "not judged",
}
ENGLISH_TRENDS: Mapping[str | None, str] = {
    "better": "better",
    "worse": "worse",
    "same": "same",
    None: "",
}


class EnglishLabels:
    """The catalogue's titles and plain English words."""

    def header(self, key: str) -> str:
        return ENGLISH_HEADERS[key]

    def indicator(self, code: str, title: str) -> str:
        return title

    def status(self, colour: str | None) -> str:
        return ENGLISH_STATUSES[colour]

    def trend(self, trend: str | None) -> str:
        return ENGLISH_TRENDS[trend]

    def sheet(self, table: KpiTable) -> str:
        return f"KPI {table.period}"

    def team(self, head: str | None) -> str:
        return "No head" if head is None else head


ENGLISH = EnglishLabels()


def row_of(cell: KpiCell, labels: Labels = ENGLISH) -> dict[str, Any]:
    """One cell as an export row: numbers as the API states them, words from `labels`."""
    data = cell.as_dict()
    return {
        "employee_name": cell.employee_name,
        "indicator_title": labels.indicator(cell.indicator, cell.title),
        "fact": data["fact"],
        "plan": data["plan"],
        "percent": data["percent"],
        "arrow": "" if cell.direction is None else ARROWS[cell.direction.value],
        "trend": labels.trend(data["trend"]),
        "previous": data["previous"],
        "status": labels.status(data["colour"]),
        "period_plan": data["period_plan"],
        "unit": cell.unit,
        "employee": cell.employee,
        "indicator": cell.indicator,
    }


def write_csv(
    out: BinaryIO, table: KpiTable, *, labels: Labels = ENGLISH, delimiter: str = ","
) -> int:
    """The table as CSV with a UTF-8 BOM (so Excel reads Cyrillic right); returns the rows."""
    if delimiter not in DELIMITERS:
        raise ValueError(f"delimiter {delimiter!r} is not one of {DELIMITERS}")
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow([labels.header(k) for k in COLUMNS])
    for cell in table.cells:
        row = row_of(cell, labels)
        writer.writerow(["" if row[k] is None else row[k] for k in COLUMNS])
    out.write(text.getvalue().encode("utf-8-sig"))
    return len(table.cells)


def _number_format(key: str, cell: KpiCell) -> str | None:
    if key in ("fact", "previous"):
        return "0" if cell.decimals == 0 and isinstance(cell.fact, int) else "0.0#"
    if key in ("plan", "period_plan"):
        return "0.##"
    if key == "percent":
        return '0" %"'
    return None


def _sheet_title(text: str, taken: set[str]) -> str:
    title = "".join(c for c in text if c not in "[]:*?/\\")[:_MAX_SHEET_TITLE] or "KPI"
    base, n = title, 2
    while title in taken:
        suffix = f" ({n})"
        title, n = base[: _MAX_SHEET_TITLE - len(suffix)] + suffix, n + 1
    taken.add(title)
    return title


def by_head(
    table: KpiTable, heads: Mapping[int, str | None], labels: Labels = ENGLISH
) -> list[tuple[str, KpiTable]]:
    """The table split into one per head (everyone directly under them), with the sheet
    title of each, in the order the employees first appear."""
    teams: dict[str | None, list[KpiCell]] = {}
    for cell in table.cells:
        teams.setdefault(heads.get(cell.employee), []).append(cell)
    return [
        (
            labels.team(head),
            replace(
                table,
                cells=tuple(cells),
                employees=tuple(e for e in table.employees if e[0] in {c.employee for c in cells}),
            ),
        )
        for head, cells in teams.items()
    ]


def write_xlsx(
    out: BinaryIO,
    tables: Sequence[KpiTable],
    *,
    labels: Labels = ENGLISH,
    titles: Sequence[str] | None = None,
) -> int:
    """Each table on its own sheet (titled by `titles`, else by period), laid out like the
    dashboard; returns the rows written."""
    # Imported here: only an .xlsx needs openpyxl, which `kpi` and `serve` paid at start (0077).
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    taken: set[str] = set()
    written = 0
    bold = Font(bold=True)
    for index, table in enumerate(tables):
        title = labels.sheet(table) if titles is None else titles[index]
        sheet = book.create_sheet(_sheet_title(title, taken))
        sheet.append([labels.header(k) for k in COLUMNS])
        for heading in sheet[1]:
            heading.font = bold
            heading.alignment = Alignment(wrap_text=True, vertical="top")
        for cell in table.cells:
            row = row_of(cell, labels)
            sheet.append([row[k] for k in COLUMNS])
            line = sheet.max_row
            for index, key in enumerate(COLUMNS, start=1):
                target = sheet.cell(row=line, column=index)
                number_format = _number_format(key, cell)
                if number_format is not None:
                    target.number_format = number_format
                if cell.colour is not None and key in _FILLED:
                    target.fill = PatternFill("solid", fgColor=_FILL[cell.colour.value])
                    target.font = Font(color=_FONT[cell.colour.value])
                if key in ("arrow", "trend") and cell.trend is not None:
                    target.font = Font(bold=key == "arrow", color=_GOODNESS_FONT[cell.trend.value])
                    target.alignment = Alignment(horizontal="center")
            written += 1
        sheet.freeze_panes = "C2"
        sheet.auto_filter.ref = sheet.dimensions
        for index, key in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = _WIDTH.get(key, 11)
    if not book.sheetnames:  # nothing to show: the headings alone
        book.create_sheet("KPI").append([labels.header(k) for k in COLUMNS])
    book.save(out)
    return written


def file_name(table: KpiTable, extension: str) -> str:
    """A download's name: ``kpi-2026-12.xlsx`` (a span's dots kept out)."""
    return f"kpi-{table.period}.{extension}"
