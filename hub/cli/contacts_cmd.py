"""`touchhub contacts list|show|merge`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from hub.activity import MergeResult
from hub.cli.common import emit_json, json_option, open_store, run, table


@click.group()
def contacts() -> None:
    """Client contacts."""


@contacts.command(name="list")
@click.option("--search", "-q", default=None, help="Name part, phone or e-mail.")
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0, show_default=True)
@json_option
@click.pass_context
def list_(ctx: click.Context, search: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List contacts, optionally matching a name, phone or e-mail."""

    async def main() -> list[dict[str, Any]]:
        async with open_store(ctx) as store:
            return await store.contacts.search(search, limit=limit, offset=offset)

    found = run(main())
    if as_json:
        emit_json(found)
        return
    for row in found:
        row["addresses"] = ", ".join(i["value"] for i in row["identities"])
        row["lead"] = "lead" if row["is_lead"] else ""
    table(found, ["id", "name", "organization", "addresses", "segment", "lead"])


@contacts.command()
@click.argument("contact_id", type=int)
@json_option
@click.pass_context
def show(ctx: click.Context, contact_id: int, as_json: bool) -> None:
    """Show one contact with its identities."""

    async def main() -> dict[str, Any]:
        async with open_store(ctx) as store:
            return await store.contacts.get(contact_id)

    contact = run(main())
    if as_json:
        emit_json(contact)
        return
    for key, value in contact.items():
        click.echo(f"{key}: {value}")


@contacts.command()
@click.argument("source_id", type=int)
@click.argument("target_id", type=int)
@json_option
@click.pass_context
def merge(ctx: click.Context, source_id: int, target_id: int, as_json: bool) -> None:
    """Merge SOURCE_ID into TARGET_ID: identities and activities move, nothing is lost."""

    async def main() -> MergeResult:
        async with open_store(ctx) as store:
            return await store.contacts.merge(source_id, target_id)

    result = run(main())
    if as_json:
        emit_json(asdict(result))
        return
    click.echo(
        f"merged #{source_id} into #{target_id}: {result.identities_moved} identities, "
        f"{result.activities_moved} activities moved"
    )
