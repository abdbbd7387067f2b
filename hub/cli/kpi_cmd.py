"""`touchhub kpi`: the coloured KPI table, drill-down, plans, monitor, month close, rebuild."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from hub import i18n
from hub.activity import ActivityStore
from hub.cli.common import AsciiInt, emit_json, locale_of, open_store, run, settings_of
from kpi.results import KpiCell, KpiTable, Monitor, Rebuilt
from kpi.service import KpiService
from kpi.viewer import Viewer

#: The `--json` keys, in order; CSV and XLSX use the same columns.
EXPORT_KEYS = (
    "employee",
    "employee_name",
    "indicator",
    "period",
    "fact",
    "plan",
    "percent",
    "colour",
    "trend",
    "previous",
    "records",
    "closed",
)
ARROWS = {"better": "▲", "worse": "▼", "same": "="}
FG = {"red": "red", "yellow": "yellow", "green": "green"}
XLSX_FILL = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE"}


@dataclass(frozen=True, slots=True)
class Kpi:
    """What a command works with: the store (to resolve employee references) and the
    one `KpiService` over it, the same the API asks."""

    store: ActivityStore
    service: KpiService

    async def employee(self, ref: str) -> int:
        """The employee an id, extension, e-mail address or name refers to."""
        return await self.store.employees.resolve(ref)

    async def viewer(self, as_ref: str | None) -> Viewer:
        """Admin by default; `--as E` looks through E's eyes (head if anyone reports to E)."""
        if as_ref is None:
            return Viewer.admin()
        return await self.service.viewer_as(await self.employee(as_ref))

    def period(self, text: str | None) -> str:
        """The period asked for, or the month running now in the company's time zone."""
        return self.service.current_month().key if text is None else text


@asynccontextmanager
async def open_kpi(ctx: click.Context) -> AsyncIterator[Kpi]:
    """The store and its KPI service for one command."""
    async with open_store(ctx) as store:
        yield Kpi(store, KpiService(store, settings_of(ctx).kpi))


def _number(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{decimals}f}"


def _row(cell: KpiCell) -> dict[str, Any]:
    data = cell.as_dict()
    return {key: data[key] for key in EXPORT_KEYS}


def print_cells(
    cells: Sequence[KpiCell], *, with_employee: bool = True, locale: str = "en"
) -> None:
    """The coloured table: one line per employee × indicator, in `locale`'s words."""
    header = [i18n.column(k, locale) for k in ("indicator", "fact", "plan")] + [
        "%",
        i18n.column("trend", locale),
    ]
    if with_employee:
        header.insert(0, i18n.column("employee", locale))
    lines = []
    for c in cells:
        word = "" if c.trend is None else i18n.text(locale, f"trend_word.{c.trend.value}")
        trend = "" if c.trend is None else f"{ARROWS[c.trend.value]} {word}"
        pct = "—" if c.percent is None else f"{c.percent:.0f}%"
        unit = "" if c.unit in ("pcs",) else f" {i18n.unit_name(c.unit, locale, c.fact or 0)}"
        fact = _number(c.fact, c.decimals or 1) + unit
        title = i18n.indicator_name(c.indicator, locale, c.title)
        values = [c.employee_name, title] if with_employee else [title]
        lines.append(
            ([*values, fact, _number(c.plan), pct, trend], c.colour.value if c.colour else None)
        )
    widths = [
        max(len(h), *(len(v[i]) for v, _ in lines)) if lines else len(h)
        for i, h in enumerate(header)
    ]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for values, colour in lines:
        text = "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))
        click.echo(click.style(text, fg=FG[colour]) if colour else text)


def _write_csv(table: KpiTable, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(EXPORT_KEYS))
        writer.writeheader()
        for cell in table.cells:
            writer.writerow(_row(cell))


def _write_xlsx(table: KpiTable, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = f"KPI {table.period}"
    sheet.append(list(EXPORT_KEYS))
    for cell in table.cells:
        row = _row(cell)
        sheet.append([row[k] for k in EXPORT_KEYS])
        if cell.colour is not None:
            fill = PatternFill("solid", fgColor=XLSX_FILL[cell.colour.value])
            for column in (5, 6, 7, 8):
                sheet.cell(row=sheet.max_row, column=column).fill = fill
    book.save(path)


@click.group(invoke_without_command=True)
@click.option(
    "--period",
    default=None,
    help="2026-10, 2026-Q4, 2026-W41, 2026-10-05 or 2026 (default: this month).",
)
@click.option(
    "--employee", default=None, help="Only this employee (id, extension, e-mail or name)."
)
@click.option(
    "--indicator", "indicators", multiple=True, help="Only these indicators (repeatable)."
)
@click.option(
    "--as", "as_ref", default=None, help="See what this employee may see (default: admin)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of cells.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--xlsx", "xlsx_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_context
def kpi(
    ctx: click.Context,
    period: str | None,
    employee: str | None,
    indicators: tuple[str, ...],
    as_ref: str | None,
    as_json: bool,
    csv_file: Path | None,
    xlsx_file: Path | None,
) -> None:
    """KPI of employees for a period: fact, plan, %, colour and the arrow against the last period."""
    if ctx.invoked_subcommand is not None:
        return

    async def main() -> KpiTable:
        async with open_kpi(ctx) as kpi:
            viewer = await kpi.viewer(as_ref)
            emp = None if employee is None else await kpi.employee(employee)
            codes = list(indicators) or None
            return await kpi.service.table(viewer, kpi.period(period), emp, codes)

    table = run(main())
    if csv_file is not None:
        _write_csv(table, csv_file)
    if xlsx_file is not None:
        _write_xlsx(table, xlsx_file)
    if csv_file is not None or xlsx_file is not None:
        click.echo(f"wrote {len(table.cells)} rows for {table.period}", err=True)
    if as_json:
        emit_json([_row(c) for c in table.cells])
        return
    if csv_file is not None or xlsx_file is not None:
        return
    locale = locale_of(ctx)
    click.echo(
        i18n.text(
            locale, "cli_kpi.header", period=table.period, previous=table.previous_period
        )
    )
    if table.closed:
        at = f"{table.closed_at:%Y-%m-%d %H:%M}"
        click.echo(i18n.text(locale, "cli_kpi.closed", period=table.period, at=at))
    if not table.started:
        click.echo(i18n.text(locale, "cli_kpi.not_started", period=table.period))
    print_cells(table.cells, with_employee=len(table.employees) > 1, locale=locale)


@kpi.command()
@click.argument("indicator")
@click.option("--employee", required=True, help="Id, extension, e-mail or name.")
@click.option("--period", default=None, help="Default: this month.")
@click.option("--count", "count_only", is_flag=True, help="Print only the number of records.")
@click.option("--cursor", default=None, help="Continue after this cursor (from a previous page).")
@click.option("--limit", default=50, show_default=True, type=AsciiInt(0))
@click.option("--as", "as_ref", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def drill(
    ctx: click.Context,
    indicator: str,
    employee: str,
    period: str | None,
    count_only: bool,
    cursor: str | None,
    limit: int,
    as_ref: str | None,
    as_json: bool,
) -> None:
    """The exact records a fact was counted from, a page at a time."""

    async def main() -> Any:
        async with open_kpi(ctx) as kpi:
            viewer = await kpi.viewer(as_ref)
            emp = await kpi.employee(employee)
            chosen = kpi.period(period)
            if count_only:
                return await kpi.service.drill_count(viewer, indicator, emp, chosen)
            return await kpi.service.drill(
                viewer, indicator, emp, chosen, cursor=cursor, limit=limit
            )

    result = run(main())
    if count_only:
        click.echo(str(result))
        return
    if as_json:
        emit_json(result.as_dict())
        return
    data = result.as_dict()
    note = f" (month closed; frozen fact {_number(result.frozen_fact)})" if result.closed else ""
    click.echo(f"{indicator} · employee {employee} · {result.period}: {result.total} records{note}")
    for item in data["items"]:
        click.echo(json.dumps(item, ensure_ascii=False))
    if result.next_cursor:
        click.echo(f"next page: --cursor {result.next_cursor}")


@kpi.group()
def plan() -> None:
    """Monthly plans and per-day norms."""


@plan.command(name="set", context_settings={"ignore_unknown_options": True})
@click.argument("indicator")
@click.argument("value", type=float)
@click.option("--month", required=True, help="YYYY-MM")
@click.option(
    "--employee", "employees", multiple=True, help="Repeatable: id, extension, e-mail or name."
)
@click.option("--group", default=None, help="Everyone below this head.")
@click.option("--per-day", is_flag=True, help="VALUE is a norm per working day.")
@click.option("--as", "as_ref", default=None, help="Set as this head (default: admin).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plan_set(
    ctx: click.Context,
    indicator: str,
    value: float,
    month: str,
    employees: tuple[str, ...],
    group: str | None,
    per_day: bool,
    as_ref: str | None,
    as_json: bool,
) -> None:
    """Set a plan for one employee, several, or a head's whole group."""

    async def main() -> list[Any]:
        async with open_kpi(ctx) as kpi:
            viewer = await kpi.viewer(as_ref)
            ids = [await kpi.employee(e) for e in employees]
            head = None if group is None else await kpi.employee(group)
            return await kpi.service.set_plan(
                viewer, indicator, month, value, employees=ids, group=head, per_day=per_day
            )

    changes = run(main())
    if as_json:
        emit_json([c.as_dict() for c in changes])
        return
    for change in changes:
        unit = " per working day" if change.per_day else ""
        was = "" if change.previous is None else f" (was {_number(change.previous)})"
        click.echo(
            f"{change.month} {change.indicator} for employee {change.employee}: {_number(change.value)}{unit}{was}"
        )


@plan.command(name="history")
@click.option("--employee", required=True)
@click.option("--indicator", default=None)
@click.pass_context
def plan_history(ctx: click.Context, employee: str, indicator: str | None) -> None:
    """Every change to an employee's plans."""

    async def main() -> list[dict[str, Any]]:
        async with open_kpi(ctx) as kpi:
            emp = await kpi.employee(employee)
            return await kpi.service.plan_history(Viewer.admin(), emp, indicator)

    emit_json(run(main()))


@kpi.command()
@click.option("--period", default=None)
@click.option(
    "--as", "as_ref", default=None, help="The head whose subordinates to show (default: all)."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def monitor(ctx: click.Context, period: str | None, as_ref: str | None, as_json: bool) -> None:
    """Indicator monitor: Critical (<50%), Important (50–79%), For information (≥80%)."""

    async def main() -> Monitor:
        async with open_kpi(ctx) as kpi:
            return await kpi.service.monitor(await kpi.viewer(as_ref), kpi.period(period))

    result = run(main())
    if as_json:
        emit_json(result.as_dict())
        return
    locale = locale_of(ctx)
    if not result.started:
        click.echo(i18n.text(locale, "cli_kpi.not_started", period=result.period))
    for group, cells in (
        ("critical", result.critical),
        ("important", result.important),
        ("information", result.information),
    ):
        click.echo(f"\n{i18n.text(locale, f'monitor.{group}')} ({len(cells)})")
        if cells:
            print_cells(cells, locale=locale)
    without = i18n.text(locale, "cli_kpi.without_plan", n=len(result.without_plan))
    click.echo(f"\n{without}")


@kpi.command(name="close-month")
@click.argument("month")
@click.option("--again", is_flag=True, help="Re-freeze a month that is already closed.")
@click.pass_context
def close_month(ctx: click.Context, month: str, again: bool) -> None:
    """Freeze a finished month's facts (the basis for bonuses)."""

    async def main() -> Any:
        async with open_kpi(ctx) as kpi:
            return await kpi.service.close_month(Viewer.admin(), month, again=again)

    closed = run(main())
    click.echo(f"closed {closed.month}: {closed.facts} facts frozen")


@kpi.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Recompute the roll-ups and client-base counts from the activities and contacts."""
    started = time.monotonic()

    def step(name: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f} s] rebuilding {name} …", err=True)

    async def main() -> Rebuilt:
        async with open_kpi(ctx) as kpi:
            return await kpi.service.rebuild(Viewer.admin(), on_step=step)

    done = run(main())
    days = ", ".join(str(d) for d in done.forgotten_days) or "none"
    click.echo(
        f"roll-ups rebuilt: {done.rollup_rows} rows; client base: {done.clients} owned clients "
        f"(forgotten after {days} days) in {time.monotonic() - started:.1f} s"
    )


@kpi.command(name="indicators")
@click.pass_context
def indicators_(ctx: click.Context) -> None:
    """The indicator catalogue (shipped plus [kpi] indicators_file)."""
    emit_json(KpiService.catalogue_of(settings_of(ctx).kpi))
