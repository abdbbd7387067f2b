"""`touchhub contacts list|show|merge|unmerge`.

The command line acts as the local administrator (whoever can open the database may
read it anyway); `--token` makes it act as that API user instead, through the same
contact-access rule as the API (decision 0024).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import click

from hub import i18n
from hub.activity import ActivityStore, MergeResult, UnmergeResult
from hub.activity.contact_scope import ContactAccess
from hub.activity.repos.base import MAX_PAGE
from hub.cli.common import (
    ID,
    AsciiInt,
    acting_principal,
    emit_json,
    json_option,
    locale_of,
    open_store,
    run,
    settings_of,
    table,
    token_option,
)


@click.group()
@token_option
def contacts() -> None:
    """Client contacts."""


async def access_of(ctx: click.Context, store: ActivityStore) -> ContactAccess:
    """The contact access of whoever runs the command: admin, or the `--token` user."""
    return ContactAccess.of(await acting_principal(ctx, store), await store.employees.hierarchy())


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
    locale = locale_of(ctx)
    lead = i18n.text(locale, "cli_contact_col.lead")
    for row in found:
        row["addresses"] = ", ".join(i["value"] for i in row["identities"])
        row["lead"] = lead if row["is_lead"] else ""
    columns = ["id", "name", "organization", "addresses", "segment", "lead"]
    titles = [i18n.text(locale, f"cli_contact_col.{c}") for c in columns]
    table(found, columns, titles=titles, empty=i18n.text(locale, "cli_activity.none"))


#: The card's lines: (catalogue key of the label, contact field, catalogue section naming
#: the value's code or None), in order; empty ones are left out.
CARD_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    ("cli.organization", "organization", None),
    ("cli.position", "position", None),
    ("cli.region", "region", None),
    ("cli.city", "city", None),
    ("cli.importance", "importance", "importance"),
    ("cli.segment", "segment", None),
)


def contact_card(
    contact: Mapping[str, Any], locale: str, owner: str | None = None, tz: str | None = None
) -> list[str]:
    """A contact as a person reads it: a title line, then "label: value" lines with the
    empty fields left out (no ``None``, no Python reprs), times in `tz`; a merged id says
    so first."""
    lines: list[str] = []
    merged = contact.get("merged_from")
    if merged:
        lines.append(
            i18n.text(
                locale,
                "cli.merged",
                id=merged["id"],
                into_id=contact["id"],
                into=contact["name"],
            )
        )
    lines.append(f"{i18n.text(locale, 'cli.id', id=contact['id'])} · {contact['name']}")
    rows: list[tuple[str, str]] = []
    for key, field, codes in CARD_FIELDS:
        value = contact.get(field)
        if value in (None, ""):
            continue
        shown = str(value) if codes is None else i18n.text(locale, f"{codes}.{value}", str(value))
        rows.append((i18n.text(locale, key), shown))
    if owner:
        rows.append((i18n.text(locale, "cli.owner"), owner))
    if contact.get("is_lead"):
        rows.append((i18n.text(locale, "cli.lead"), i18n.text(locale, "cli.yes")))
    addresses = []
    for identity in contact.get("identities") or []:
        kind = i18n.text(locale, f"identity.{identity['kind']}", identity["kind"])
        line = f"{kind} {identity['value']}"
        if identity.get("bouncing_since"):
            since = i18n.when(locale, identity["bouncing_since"], tz)
            line += f" ({i18n.text(locale, 'cli.bouncing', when=since)})"
        addresses.append(line)
    if addresses:
        rows.append((i18n.text(locale, "cli.addresses"), "; ".join(addresses)))
    for key, value in sorted((contact.get("custom") or {}).items()):
        if value not in (None, ""):
            rows.append((str(key), str(value)))
    for key, field in (("cli.created", "created_at"), ("cli.updated", "updated_at")):
        if contact.get(field):
            rows.append((i18n.text(locale, key), i18n.when(locale, contact[field], tz)))
    width = max((len(label) for label, _ in rows), default=0)
    lines += [f"  {label + ':':<{width + 1}} {value}" for label, value in rows]
    return lines


@contacts.command()
@click.argument("contact_id", type=ID)
@json_option
@click.pass_context
def show(ctx: click.Context, contact_id: int, as_json: bool) -> None:
    """Show one contact with its identities; a merged id says which contact it joined."""

    async def main() -> tuple[dict[str, Any], str | None]:
        async with open_store(ctx) as store:
            access = await access_of(ctx, store)
            contact = await store.contacts.get(contact_id)
            access.check_read(contact_id, contact["owner_employee_id"])
            if contact["id"] != contact_id:
                contact["merged_from"] = await store.contacts.merged_from(contact_id)
            owner = contact["owner_employee_id"]
            name = None if owner is None else (await store.employees.get(int(owner)))["name"]
            return contact, name

    contact, owner = run(main())
    if as_json:
        emit_json(contact)
        return
    tz = settings_of(ctx).kpi.timezone
    for line in contact_card(contact, locale_of(ctx), owner, tz):
        click.echo(line)


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
