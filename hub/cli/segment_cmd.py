"""`touchhub segment …`: save a filter (checked first), list, count and sample members."""

from __future__ import annotations

import json
from typing import Any

import click

from hub import i18n
from hub.campaigns import segment_sql
from hub.campaigns.segments import parse
from hub.cli.common import ID, AsciiInt, emit_json, json_option, locale_of, open_store, run, table
from hub.cli.options import read_filter

CLI_USER = "cli"


def _definition(text: str) -> dict[str, Any]:
    value = read_filter(text)
    parse(value)
    return value


@click.group()
def segment() -> None:
    """Segments: named filters over the contacts (see decision 0020 for the language)."""


@segment.command("create")
@click.option("--name", required=True)
@click.option("--filter", "text", required=True, help='JSON, e.g. {"field":"city","op":"eq","value":"Казань"}')
@click.pass_context
def create(ctx: click.Context, name: str, text: str) -> None:
    """Save a named segment."""
    definition = _definition(text)

    async def go() -> int:
        async with open_store(ctx) as store:
            saved = await store.segments.create(name=name, definition=definition, created_by=CLI_USER)
            return saved.id

    click.echo(i18n.text(locale_of(ctx), "cli_segment.saved", id=run(go())))


@segment.command("list")
@json_option
@click.pass_context
def list_segments(ctx: click.Context, as_json: bool) -> None:
    """Every saved segment."""

    async def go() -> list[dict[str, Any]]:
        async with open_store(ctx) as store:
            return [
                {"id": s.id, "name": s.name, "definition": json.dumps(s.definition, ensure_ascii=False)}
                for s in await store.segments.list()
            ]

    rows = run(go())
    if as_json:
        emit_json(rows)
    else:
        locale = locale_of(ctx)
        columns = ["id", "name", "definition"]
        table(
            rows,
            columns,
            titles=[i18n.text(locale, f"cli_segment.{c}") for c in columns],
            empty=i18n.text(locale, "cli_segment.none"),
        )


@segment.command("count")
@click.argument("segment_id", type=ID, required=False)
@click.option("--filter", "text", default=None, help="An inline filter instead of a saved id.")
@click.option("--sample", type=AsciiInt(minimum=0, maximum=100), default=0, help="Also show N members.")
@json_option
@click.pass_context
def count(
    ctx: click.Context, segment_id: int | None, text: str | None, sample: int, as_json: bool
) -> None:
    """How many contacts a segment has now (and a random sample of their ids)."""
    if (segment_id is None) == (text is None):
        raise click.UsageError("give a segment id or --filter")

    async def go() -> tuple[int, list[int]]:
        async with open_store(ctx) as store:
            definition = (
                _definition(text) if text is not None
                else dict((await store.segments.get(segment_id or 0)).definition)
            )  # fmt: skip
            node = parse(definition)
            size = await segment_sql.count(store.engine, node)
            ids = await segment_sql.sample(store.engine, node, sample) if sample else []
            return size, ids

    size, ids = run(go())
    if as_json:
        emit_json({"count": size, "sample": ids})
    else:
        locale = locale_of(ctx)
        click.echo(i18n.counted(locale, "cli.contacts", size))
        if ids:
            click.echo(i18n.text(locale, "cli_segment.sample", ids=", ".join(str(i) for i in ids)))
