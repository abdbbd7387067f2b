"""`touchhub employees add|import|list`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hub.activity.addresses import split_multi
from hub.activity.contact_import import csv_records, decode
from hub.cli.common import emit_json, json_option, open_store, run, table
from hub.errors import TouchhubError
from hub.model import Address, AddressKind


def _addresses(extensions: str, emails: str, telegram: str) -> list[Address]:
    return [
        *(Address(kind=AddressKind.EXTENSION, value=v) for v in split_multi(extensions)),
        *(Address(kind=AddressKind.EMAIL, value=v) for v in split_multi(emails)),
        *(Address(kind=AddressKind.TELEGRAM, value=v) for v in split_multi(telegram)),
    ]


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
                addresses=_addresses(extensions, emails, telegram),
            )
            return await store.employees.get(new_id)

    employee = run(main())
    if as_json:
        emit_json(employee)
    else:
        click.echo(f"employee #{employee['id']} {employee['name']} added")


@employees.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def import_(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Import employees from CSV: name, position, head (name), extension, email, telegram."""
    records = csv_records(decode(file.read_bytes()))
    header = [h.strip().casefold() for h in records[0][1]] if records else []
    rows = [
        (line, dict(zip(header, cells, strict=False)))
        for line, cells in records[1:]
        if any(c.strip() for c in cells)
    ]

    async def main() -> dict[str, Any]:
        created, rejects = 0, []
        async with open_store(ctx) as store:
            known = {e["name"]: e["id"] for e in await store.employees.list()}
            pending = rows
            # heads first: a row whose head is not known yet waits for a later pass
            while pending:
                progressed, waiting = False, []
                for line, row in pending:
                    norm = {k: v.strip() for k, v in row.items() if k}
                    name, head = norm.get("name", ""), norm.get("head", "")
                    if name in known:
                        progressed = True
                        continue
                    if head and head not in known:
                        waiting.append((line, row))
                        continue
                    try:
                        known[name] = await store.employees.add(
                            name,
                            position=norm.get("position") or None,
                            head_id=known.get(head) if head else None,
                            addresses=_addresses(
                                norm.get("extension", ""),
                                norm.get("email", ""),
                                norm.get("telegram", ""),
                            ),
                        )
                        created += 1
                    except TouchhubError as exc:
                        rejects.append({"line": line, "reason": str(exc)})
                    progressed = True
                if not progressed:
                    rejects += [{"line": ln, "reason": "head not found"} for ln, _ in waiting]
                    break
                pending = waiting
        return {
            "created": created,
            "rejected": len(rejects),
            "rejects": sorted(rejects, key=lambda r: r["line"]),
        }

    report = run(main())
    if as_json:
        emit_json(report)
        return
    for reject in report["rejects"]:
        click.echo(f"line {reject['line']}: {reject['reason']}", err=True)
    click.echo(f"created {report['created']}, rejected {report['rejected']}")


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
