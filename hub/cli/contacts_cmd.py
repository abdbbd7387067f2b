"""`touchhub contacts list|show|merge|unmerge`.

The command line acts as the local administrator (whoever can open the database may
read it anyway); `--token` makes it act as that API user instead, through the same
contact-access rule as the API (decision 0024).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from hub.activity import ADMIN, ActivityStore, MergeResult, Principal, UnmergeResult
from hub.activity.contact_scope import ContactAccess
from hub.activity.repos.base import MAX_PAGE
from hub.cli.common import ID, AsciiInt, emit_json, json_option, open_store, run, table
from hub.errors import Unauthenticated


@click.group()
@click.option(
    "--token",
    default=None,
    metavar="TOKEN",
    help="Act as the API user of this bearer token (default: the local administrator).",
)
@click.pass_context
def contacts(ctx: click.Context, token: str | None) -> None:
    """Client contacts."""
    ctx.ensure_object(dict)["contacts_token"] = token


async def access_of(ctx: click.Context, store: ActivityStore) -> ContactAccess:
    """The contact access of whoever runs the command: admin, or the `--token` user."""
    obj = ctx.find_object(dict)
    token: str | None = None if obj is None else obj.get("contacts_token")
    who: Principal | None = ADMIN
    if token is not None:
        who = await store.tokens.authenticate(token)
        if who is None:
            raise Unauthenticated("the --token is unknown or revoked")
    assert who is not None
    return ContactAccess.of(who, await store.employees.hierarchy())


@contacts.command(name="list")
@click.option("--search", "-q", default=None, help="Name part, phone or e-mail.")
@click.option("--limit", default=50, show_default=True, type=AsciiInt(1, MAX_PAGE))
@click.option("--offset", default=0, show_default=True, type=AsciiInt(0))
@json_option
@click.pass_context
def list_(ctx: click.Context, search: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List contacts, optionally matching a name, phone or e-mail."""

    async def main() -> list[dict[str, Any]]:
        async with open_store(ctx) as store:
            access = await access_of(ctx, store)
            return await store.contacts.search(
                search, limit=limit, offset=offset, scope=access.read
            )

    found = run(main())
    if as_json:
        emit_json(found)
        return
    for row in found:
        row["addresses"] = ", ".join(i["value"] for i in row["identities"])
        row["lead"] = "lead" if row["is_lead"] else ""
    table(found, ["id", "name", "organization", "addresses", "segment", "lead"])


@contacts.command()
@click.argument("contact_id", type=ID)
@json_option
@click.pass_context
def show(ctx: click.Context, contact_id: int, as_json: bool) -> None:
    """Show one contact with its identities."""

    async def main() -> dict[str, Any]:
        async with open_store(ctx) as store:
            access = await access_of(ctx, store)
            contact = await store.contacts.get(contact_id)
            access.check_read(contact_id, contact["owner_employee_id"])
            return contact

    contact = run(main())
    if as_json:
        emit_json(contact)
        return
    for key, value in contact.items():
        click.echo(f"{key}: {value}")


@contacts.command()
@click.argument("source_id", type=ID)
@click.argument("target_id", type=ID)
@json_option
@click.pass_context
def merge(ctx: click.Context, source_id: int, target_id: int, as_json: bool) -> None:
    """Merge SOURCE_ID into TARGET_ID: identities and activities move, nothing is lost."""

    async def main() -> MergeResult:
        async with open_store(ctx) as store:
            access = await access_of(ctx, store)
            source = await store.contacts.get(source_id)
            target = await store.contacts.get(target_id)
            access.check_merge(
                [(source_id, source["owner_employee_id"]), (target_id, target["owner_employee_id"])]
            )
            return await store.contacts.merge(source_id, target_id, by=access.who.name)

    result = run(main())
    if as_json:
        emit_json(asdict(result))
        return
    click.echo(
        f"merged #{source_id} into #{target_id}: {result.identities_moved} identities, "
        f"{result.activities_moved} activities moved (undo: touchhub contacts unmerge "
        f"{result.merge_id})"
    )


@contacts.command()
@click.argument("merge_id", type=int)
@json_option
@click.pass_context
def unmerge(ctx: click.Context, merge_id: int, as_json: bool) -> None:
    """Undo merge MERGE_ID: the joined contact gets back its identities and activities."""

    async def main() -> UnmergeResult:
        async with open_store(ctx) as store:
            access = await access_of(ctx, store)
            return await store.contacts.unmerge_as(access, merge_id)

    result = run(main())
    if as_json:
        emit_json(asdict(result))
        return
    click.echo(
        f"undid merge #{merge_id}: #{result.source_id} is back with "
        f"{result.identities_restored} identities and {result.activities_restored} activities"
    )
