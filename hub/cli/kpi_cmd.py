"""`touchhub kpi`: the coloured KPI table, drill-down, plans, monitor, month close, rebuild."""

from __future__ import annotations

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
from kpi import export
from kpi.results import KpiCell, KpiTable, Monitor, Rebuilt
from kpi.service import KpiService
from kpi.span import Span
from kpi.viewer import Viewer

#: The `--json` keys, in order (CSV and XLSX have the dashboard's columns: `kpi.export`).
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
    "direction",
    "previous",
    "period_plan",
    "records",
    "closed",
)
FG = {"red": "red", "yellow": "yellow", "green": "green"}
#: The words of the human output are the catalogue's (`hub/i18n/messages.toml`, `cli_kpi`).


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


def _echo_span(span: Span | None, locale: str) -> None:
    """The line saying what a running period judges and compares with (nothing otherwise)."""
    if span is None or not span.partial:
        return
    click.echo(
        i18n.text(
            locale,
            "cli_kpi.partial",
            first=span.judged.start,
            last=span.judged.last_day,
            worked=span.working_days,
            total=span.working_days_total,
            previous_first=span.previous.start,
            previous_last=span.previous.last_day,
        )
    )


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
        trend = (
            ""
            if c.trend is None or c.direction is None
            else f"{export.ARROWS[c.direction.value]} {i18n.trend_name(c.trend.value, locale)}"
        )
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
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the table as CSV (UTF-8 with a BOM, for Excel).",
)
@click.option(
    "--delimiter",
    type=click.Choice(export.DELIMITERS),
    default=None,
    help="The CSV delimiter (default: ';' in Russian, for Excel with a comma-decimal locale; "
    "',' in English).",
)
@click.option(
    "--xlsx",
    "xlsx_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the table as an Excel workbook laid out like the dashboard.",
)
@click.option(
    "--with-previous",
    is_flag=True,
    help="Add the previous period as a second sheet of the XLSX.",
)
@click.option(
    "--by-head",
    is_flag=True,
    help="One XLSX sheet per head: the people directly under them.",
)
@click.pass_context
def kpi(
    ctx: click.Context,
    period: str | None,
    employee: str | None,
    indicators: tuple[str, ...],
    as_ref: str | None,
    as_json: bool,
    csv_file: Path | None,
    delimiter: str | None,
    xlsx_file: Path | None,
    with_previous: bool,
    by_head: bool,
) -> None:
    """KPI of employees for a period: fact, plan, %, colour and the arrow against the last period."""
    if ctx.invoked_subcommand is not None:
        return

    if with_previous and by_head:
        raise click.UsageError("--with-previous and --by-head: choose one way to split sheets")

    async def main() -> tuple[list[KpiTable], dict[int, str | None]]:
        async with open_kpi(ctx) as kpi:
            viewer = await kpi.viewer(as_ref)
            emp = None if employee is None else await kpi.employee(employee)
            codes = list(indicators) or None
            table = await kpi.service.table(viewer, kpi.period(period), emp, codes)
            heads = await kpi.service.heads(viewer) if by_head else {}
            if not (with_previous and xlsx_file is not None):
                return [table], heads
            before = await kpi.service.table(viewer, table.previous_period, emp, codes)
            return [table, before], heads

    (table, *more), heads = run(main())
    locale = locale_of(ctx)
    labels = i18n.export_labels(locale)
    if csv_file is not None:
        with csv_file.open("wb") as handle:
            sep = delimiter or i18n.csv_delimiter(locale)
            export.write_csv(handle, table, labels=labels, delimiter=sep)
    if xlsx_file is not None:
        with xlsx_file.open("wb") as handle:
            if by_head:
                teams = export.by_head(table, heads, labels)
                export.write_xlsx(
                    handle, [t for _, t in teams], titles=[n for n, _ in teams], labels=labels
                )
            else:
                export.write_xlsx(handle, [table, *more], labels=labels)
    if csv_file is not None or xlsx_file is not None:
        wrote = i18n.text(locale, "cli_kpi.wrote", rows=len(table.cells), period=table.period)
        click.echo(wrote, err=True)
    if as_json:
        emit_json([_row(c) for c in table.cells])
        return
    if csv_file is not None or xlsx_file is not None:
        return
    click.echo(
        i18n.text(
            locale, "cli_kpi.header", period=table.period, previous=table.previous_period
        )
    )
    _echo_span(table.span, locale)
    if table.closed:
        at = "" if table.closed_at is None else f"{table.closed_at:%Y-%m-%d %H:%M}"
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
    locale = locale_of(ctx)
    note = i18n.text(locale, "cli_kpi.drill_frozen", fact=_number(result.frozen_fact)) if result.closed else ""
    click.echo(
        i18n.text(
            locale, "cli_kpi.drill", indicator=indicator, employee=employee, period=result.period,
            records=i18n.counted(locale, "records", result.total),
        ) + note
    )  # fmt: skip
    for item in data["items"]:
        click.echo(json.dumps(item, ensure_ascii=False))
    if result.next_cursor:
        click.echo(i18n.text(locale, "cli_kpi.next_page", cursor=result.next_cursor))


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
    _echo_span(result.span, locale)
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
    click.echo(i18n.text(locale_of(ctx), "cli_kpi.month_closed", month=closed.month, facts=closed.facts))


@kpi.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Recompute the roll-ups and client-base counts from the activities and contacts."""
    started = time.monotonic()
    locale = locale_of(ctx)

    def step(name: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f} s] {i18n.text(locale, 'cli_kpi.rebuilding', name=name)}", err=True)

    async def main() -> Rebuilt:
        async with open_kpi(ctx) as kpi:
            return await kpi.service.rebuild(Viewer.admin(), on_step=step)

    done = run(main())
    days = ", ".join(str(d) for d in done.forgotten_days) or "—"
    click.echo(
        i18n.text(
            locale, "cli_kpi.rebuilt", rows=done.rollup_rows, clients=done.clients, days=days,
            seconds=f"{time.monotonic() - started:.1f}",
        )
    )  # fmt: skip


@kpi.command(name="indicators")
@click.pass_context
def indicators_(ctx: click.Context) -> None:
    """The indicator catalogue (shipped plus [kpi] indicators_file)."""
    emit_json(KpiService.catalogue_of(settings_of(ctx).kpi))
