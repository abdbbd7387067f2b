"""`touchhub import contacts FILE`: CSV (UTF-8 or cp1251) and vCard, deduplicated."""

from __future__ import annotations

from pathlib import Path

import click

from hub.activity.contact_import import ImportReport, import_contacts, parse_file
from hub.cli.common import Progress, emit_json, open_store, run, settings_of


@click.group(name="import")
def import_group() -> None:
    """Import data from files."""


@import_group.command(name="contacts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def contacts(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Import contacts; re-importing the same file changes nothing, bad rows are listed."""
    region = settings_of(ctx).store.default_region
    rows, rejects = parse_file(file.read_bytes(), file.name, region)

    async def main() -> ImportReport:
        async with open_store(ctx) as store:
            with Progress(f"importing {file.name}", len(rows)) as bar:
                return await import_contacts(store.contacts, rows, rejects, bar.advance)

    report = run(main())
    if as_json:
        emit_json(report.as_dict())
        return
    for reject in report.rejects:
        click.echo(f"line {reject.line}: {reject.reason}", err=True)
    click.echo(f"created {report.created}, updated {report.updated}, rejected {report.rejected}")
