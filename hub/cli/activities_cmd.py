"""`touchhub activities list` and `touchhub interaction add|complete`."""

from __future__ import annotations

from typing import Any

import click

from hub import i18n
from hub.activity import ActivityFilter
from hub.activity.repos import MAX_PAGE
from hub.cli.common import (
    ID,
    AsciiInt,
    emit_json,
    json_option,
    locale_of,
    open_store,
    parse_when,
    run,
    settings_of,
    table,
)
from hub.model import Channel, Direction, Status

#: The columns of the human activity list (names in the catalogue's `cli_activity`).
ACTIVITY_COLUMNS = (
    "id",
    "when",
    "channel",
    "direction",
    "status",
    "counterpart",
    "contact",
    "employee",
    "subject",
)


@click.group()
def activities() -> None:
    """Recorded touches across all channels."""


@activities.command(name="list")
@click.option("--contact", type=ID, default=None, help="Contact id.")
@click.option("--employee", default=None, help="Employee id, extension, e-mail or name.")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None)
@click.option("--direction", type=click.Choice([d.value for d in Direction]), default=None)
@click.option("--status", type=click.Choice([s.value for s in Status]), default=None)
@click.option("--since", default=None, help="ISO date or date-time (without an offset: the company's clock).")
@click.option("--until", default=None, help="ISO date or date-time, exclusive.")
@click.option("--limit", default=50, show_default=True, type=AsciiInt(1, MAX_PAGE))
@click.option("--cursor", default=None, help="Continue from a previous page.")
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    contact: int | None,
    employee: str | None,
    channel: str | None,
    direction: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List activities, newest first."""
    tz = settings_of(ctx).kpi.timezone

    async def main() -> tuple[list[dict[str, Any]], str | None]:
        async with open_store(ctx) as store:
            employee_ids = None
            if employee is not None:
                employee_ids = frozenset({await store.employees.resolve(employee)})
            flt = ActivityFilter(
                contact_id=contact,
                employee_ids=employee_ids,
                channel=Channel(channel) if channel else None,
                direction=Direction(direction) if direction else None,
                status=Status(status) if status else None,
                since=parse_when(since, tz, "--since"),
                until=parse_when(until, tz, "--until"),
            )
            page = await store.activities.list(flt, limit=limit, cursor=cursor)
            return page.items, page.next_cursor

    items, next_cursor = run(main())
    if as_json:
        emit_json({"items": items, "next_cursor": next_cursor})
        return
    locale = locale_of(ctx)
    rows = [
        {
            "id": item["id"],
            "when": i18n.when(locale, item["occurred_at"], tz),
            "channel": i18n.channel_name(item["channel"], locale),
            "direction": i18n.direction_name(item["direction"], locale),
            "status": i18n.status_name(item["status"], locale),
            "counterpart": item.get("counterpart"),
            "contact": item.get("contact_id"),
            "employee": item.get("employee_id"),
            "subject": item.get("subject"),
        }
        for item in items
    ]
    columns = list(ACTIVITY_COLUMNS)
    table(
        rows,
        columns,
        titles=[i18n.text(locale, f"cli_activity.{c}") for c in columns],
        empty=i18n.text(locale, "cli_activity.none"),
    )
    if next_cursor:
        click.echo(i18n.text(locale, "cli_activity.more", cursor=next_cursor))


@click.group()
def interaction() -> None:
    """Meetings, tasks and calls entered by hand."""


@interaction.command()
@click.option("--kind", type=click.Choice(["meeting", "task", "call", "note"]), required=True)
@click.option("--subject", required=True)
@click.option("--contact", type=ID, default=None, help="Contact id.")
@click.option("--employee", default=None, help="Employee id, extension, e-mail or name.")
@click.option("--due", default=None, help="Due time (ISO); makes it a planned interaction.")
@click.option("--at", "occurred", default=None, help="When it happened (ISO), for a done one.")
@click.option("--hours", type=float, default=None, help="How long it takes or took.")
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    kind: str,
    subject: str,
    contact: int | None,
    employee: str | None,
    due: str | None,
    occurred: str | None,
    hours: float | None,
    as_json: bool,
) -> None:
    """Add an interaction: planned with --due, done otherwise."""
    tz = settings_of(ctx).kpi.timezone

    async def main() -> dict[str, Any]:
        async with open_store(ctx) as store:
            employee_id = await store.employees.resolve(employee) if employee else None
            new_id = await store.activities.add_interaction(
                channel=Channel(kind),
                employee_id=employee_id,
                contact_id=contact,
                subject=subject,
                due_at=parse_when(due, tz, "--due"),
                occurred_at=parse_when(occurred, tz, "--at"),
                duration_s=hours * 3600 if hours is not None else None,
            )
            return await store.activities.get(new_id)

    created = run(main())
    if as_json:
        emit_json(created)
    else:
        locale = locale_of(ctx)
        status = i18n.status_name(created["status"], locale)
        click.echo(
            i18n.text(
                locale, "cli_activity.added", id=created["id"], status=status, subject=created["subject"]
            )
        )


@interaction.command()
@click.argument("activity_id", type=ID)
@click.option("--result", required=True, help="What came of it.")
@json_option
@click.pass_context
def complete(ctx: click.Context, activity_id: int, result: str, as_json: bool) -> None:
    """Complete a planned interaction with its result."""

    async def main() -> dict[str, Any]:
        async with open_store(ctx) as store:
            return await store.activities.complete(activity_id, result=result)

    done = run(main())
    if as_json:
        emit_json(done)
    else:
        click.echo(i18n.text(locale_of(ctx), "cli_activity.completed", id=activity_id))
