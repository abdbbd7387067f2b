"""`touchhub employees add|import|list`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hub import i18n
from hub.activity.employee_import import (
    EmployeeImportReport,
    addresses_of,
    import_employees,
    parse_employees,
)
from hub.cli.common import emit_json, json_option, locale_of, open_store, run, table
from hub.cli.import_cmd import echo_report, import_progress


@click.group()
def employees() -> None:
    """Employees, their extensions and mailboxes, and who heads whom."""


@employees.command()
@click.argument("name")
@click.option("--position", default=None)
@click.option("--head", default=None, help="The head: id, extension, e-mail or name.")
@click.option("--extension", "extensions", default="", help="Extensions, separated by , or ;")
@click.option("--email", "emails", default="", help="Mailbox addresses, separated by , or ;")
@click.option("--telegram", default="", help="Messenger accounts, separated by , or ;")
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    name: str,
    position: str | None,
    head: str | None,
    extensions: str,
    emails: str,
    telegram: str,
    as_json: bool,
) -> None:
    """Add an employee."""

    async def main() -> dict[str, Any]:
        async with open_store(ctx) as store:
            head_id = await store.employees.resolve(head) if head else None
            new_id = await store.employees.add(
                name,
                position=position,
                head_id=head_id,
                addresses=addresses_of(extensions, emails, telegram),
            )
            return await store.employees.get(new_id)

    employee = run(main())
    if as_json:
        emit_json(employee)
    else:
        click.echo(i18n.text(locale_of(ctx), "cli.employee_added", id=employee["id"], name=employee["name"]))


@employees.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def import_(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Import employees from CSV: name, position, head (name), extension, email, telegram
    (or ФИО, Должность, Руководитель, Внутренний, Почта, Телеграм); known names are kept."""
    locale = locale_of(ctx)
    rows, rejects = parse_employees(file.read_bytes())

    async def main() -> EmployeeImportReport:
        async with open_store(ctx) as store:
            with import_progress(locale, file, len(rows)) as bar:
                return await import_employees(store.employees, rows, rejects, bar.advance)

    report = run(main())
    if as_json:
        emit_json(report.as_dict())
        return
    echo_report(locale, report, "cli_import.employees", ("created", "known", "rejected"))


@employees.command(name="list")
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List employees with their addresses and heads."""

    async def main() -> list[dict[str, Any]]:
        async with open_store(ctx) as store:
            return await store.employees.list()

    found = run(main())
    if as_json:
        emit_json(found)
        return
    for row in found:
        row["addresses"] = ", ".join(a["value"] for a in row["addresses"])
    table(found, ["id", "name", "position", "head_id", "addresses", "active"])
