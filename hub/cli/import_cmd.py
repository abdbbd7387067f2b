"""`touchhub import contacts FILE`: CSV (UTF-8 or cp1251) and vCard, deduplicated."""

from __future__ import annotations

from pathlib import Path

import click

from hub import i18n
from hub.activity.contact_import import ImportReport, Rejected, import_contacts, parse_file
from hub.cli.common import Progress, emit_json, locale_of, open_store, run, settings_of


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
    locale = locale_of(ctx)
    rows, rejects = parse_file(file.read_bytes(), file.name, region)

    async def main() -> ImportReport:
        async with open_store(ctx) as store:
            with import_progress(locale, file, len(rows)) as bar:
                return await import_contacts(store.contacts, rows, rejects, bar.advance)

    report = run(main())
    if as_json:
        emit_json(report.as_dict())
        return
    echo_report(locale, report, "cli_import.summary", ("created", "updated", "unchanged", "rejected"))


def import_progress(locale: str, file: Path, total: int) -> Progress:
    """The progress of importing `file`, in `locale`."""
    label = i18n.text(locale, "cli_import.progress", file=file.name)
    return Progress(label, total, done=i18n.text(locale, "cli_import.done"))


def echo_report(locale: str, report: Rejected, summary: str, counted: tuple[str, ...]) -> None:
    """Each refused line on stderr, then the `summary` message filled with `counted`."""
    for reject in report.rejects:
        reason = i18n.said_in(locale, reject.reason)
        click.echo(i18n.text(locale, "cli_import.reject", line=reject.line, reason=reason), err=True)
    click.echo(i18n.text(locale, summary, **{k: i18n.number(locale, getattr(report, k)) for k in counted}))
