"""KPI exports: every word comes from the `Labels` given, numbers stay numbers."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from kpi import export
from kpi.judgement import Colour, Direction, Trend
from kpi.results import KpiCell, KpiTable


class Russian:
    """Labels as another language plugs them in."""

    def header(self, key: str) -> str:
        return f"ru:{key}"

    def indicator(self, code: str, title: str) -> str:
        return {"overdue_interactions": "Просроченные взаимодействия"}.get(code, title)

    def status(self, colour: str | None) -> str:
        return {"green": "в норме", "red": "отстаёт"}.get(colour or "", "без оценки")

    def trend(self, trend: str | None) -> str:
        return {"better": "лучше", "worse": "хуже"}.get(trend or "", "")

    def sheet(self, table: KpiTable) -> str:
        return f"КПЭ {table.period}"

    def team(self, head: str | None) -> str:
        return head or "Без руководителя"


def _cell(employee: int, name: str, colour: Colour | None, fact: int) -> KpiCell:
    return KpiCell(
        employee=employee,
        employee_name=name,
        indicator="overdue_interactions",
        title="Overdue interactions",
        unit="pcs",
        period="2026-12",
        fact=fact,
        records=fact,
        plan=1.0,
        percent=100.0 if colour is Colour.GREEN else 0.0,
        colour=colour,
        trend=Trend.BETTER if fact < 9 else Trend.WORSE,
        direction=Direction.DOWN if fact < 9 else Direction.UP,
        previous=9,
        lower_is_better=True,
        period_plan=3.0,
    )


TABLE = KpiTable(
    period="2026-12",
    previous_period="2026-11",
    closed=False,
    closed_at=None,
    indicators=("overdue_interactions",),
    employees=((1, "Анна"), (2, "Борис")),
    cells=(_cell(1, "Анна", Colour.GREEN, 1), _cell(2, "Борис", Colour.RED, 12)),
)


def test_csv_speaks_the_labels_and_starts_with_a_bom() -> None:
    out = io.BytesIO()
    assert export.write_csv(out, TABLE, labels=Russian(), delimiter=";") == 2
    raw = out.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert [r["ru:indicator_title"] for r in rows] == ["Просроченные взаимодействия"] * 2
    assert [(r["ru:arrow"], r["ru:trend"], r["ru:status"]) for r in rows] == [
        ("▼", "лучше", "в норме"),
        ("▲", "хуже", "отстаёт"),
    ]
    assert [float(r["ru:fact"]) for r in rows] == [1, 12]


def test_xlsx_speaks_the_labels_with_a_sheet_per_head() -> None:
    out = io.BytesIO()
    teams = export.by_head(TABLE, {1: "Ольга", 2: None}, Russian())
    export.write_xlsx(out, [t for _, t in teams], labels=Russian(), titles=[n for n, _ in teams])
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["Ольга", "Без руководителя"]
    header = [c.value for c in book["Ольга"][1]]
    assert header[:3] == ["ru:employee_name", "ru:indicator_title", "ru:fact"]
    anna = [c.value for c in book["Ольга"][2]]
    assert anna[:9] == ["Анна", "Просроченные взаимодействия", 1, 1, 100, "▼", "лучше", 9, "в норме"]
    assert book["Ольга"]["C2"].fill.fgColor.rgb.endswith("C6EFCE")
    assert book["Без руководителя"]["C2"].fill.fgColor.rgb.endswith("FFC7CE")


def test_an_empty_table_is_still_a_workbook() -> None:
    out = io.BytesIO()
    empty = KpiTable(
        period="2026-12",
        previous_period="2026-11",
        closed=False,
        closed_at=None,
        indicators=(),
        employees=(),
        cells=(),
    )
    assert export.by_head(empty, {}) == []
    assert export.write_xlsx(out, []) == 0
    assert load_workbook(io.BytesIO(out.getvalue())).sheetnames == ["KPI"]
