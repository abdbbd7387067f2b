"""`touchhub trigger …`: create, list, show, enable, disable, delete trigger rules.

Every rule is `hub.campaigns.triggers.TriggerManager`'s, the same the API calls; these
commands read options and print, in the catalogue's words (`--lang`) or as `--json`.
`touchhub serve` evaluates enabled rules and sends what they fire.
"""

from __future__ import annotations

from typing import Any

import click

from hub import i18n
from hub.activity import ActivityStore
from hub.activity.repos.triggers import FiringRow, RuleRow, TriggerKind
from hub.campaigns.triggers import KINDS, TriggerManager, TriggerSpec
from hub.cli.common import (
    ID,
    AsciiInt,
    emit_json,
    json_option,
    locale_of,
    open_store,
    run,
    settings_of,
    table,
)
from hub.cli.options import json_object, template_options
from hub.errors import ValidationError
from hub.runtime import sender_keys

#: Who the command line acts as in `created_by`.
CLI_USER = "cli"
FIRINGS_SHOWN = 50


def _manager(ctx: click.Context, store: ActivityStore) -> TriggerManager:
    return TriggerManager(store, senders=sender_keys(settings_of(ctx)))


def what(locale: str, rule: RuleRow) -> str:
    """The rule's event in words."""
    return i18n.text(locale, f"trigger_kind.{rule.kind}", rule.kind, **dict(rule.params))


def _state(locale: str, rule: RuleRow) -> str:
    return i18n.text(locale, "cli_trigger.enabled" if rule.enabled else "cli_trigger.disabled")


def _counts(locale: str, counts: dict[str, int]) -> str:
    if not counts:
        return i18n.text(locale, "cli_trigger.no_firings")
    return ", ".join(
        f"{i18n.text(locale, f'trigger_state.{k}', k)} {v}" for k, v in sorted(counts.items())
    )


def _print_rule(
    ctx: click.Context, rule: dict[str, Any], row: RuleRow, firings: list[FiringRow] | None
) -> None:
    locale = locale_of(ctx)
    tz = settings_of(ctx).kpi.timezone
    say = click.echo
    say(i18n.text(locale, "cli_trigger.rule", id=row.id, name=row.name, state=_state(locale, row)))
    say(i18n.text(locale, "cli_trigger.when", what=what(locale, row)))
    say(
        i18n.text(
            locale,
            "cli_trigger.sends",
            template=row.template_id,
            version=row.template_version,
            channel=i18n.channel_name(row.channel, locale),
            sender=row.sender,
            campaign=row.campaign_id,
        )
    )
    last = (
        i18n.when(locale, row.last_run_at, tz)
        if row.last_run_at is not None
        else i18n.text(locale, "cli_trigger.never")
    )
    say(i18n.text(locale, "cli_trigger.last_run", when=last))
    if row.last_error:
        say(i18n.text(locale, "cli_trigger.error", error=row.last_error))
    say(i18n.text(locale, "cli_trigger.firings", counts=_counts(locale, rule["firings"])))
    if firings is None:
        return
    columns = ["id", "event", "contact", "address", "fired_at", "outcome", "detail"]
    rows = [
        {
            "id": f.id,
            "event": f.event_key,
            "contact": f.contact_name or f.contact_id,
            "address": f.address,
            "fired_at": i18n.when(locale, f.fired_at, tz),
            "outcome": i18n.text(locale, f"trigger_state.{f.state}", f.state)
            + (f" ({f.reason})" if f.reason else ""),
            "detail": f.detail,
        }
        for f in firings
    ]
    say("")
    table(
        rows,
        columns,
        titles=[i18n.text(locale, f"cli_trigger.{c}") for c in columns],
        empty=i18n.text(locale, "cli_activity.none"),
    )


@click.group()
def trigger() -> None:
    """Trigger rules: on an event, send a template to the contact."""


@trigger.command("create")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(KINDS), required=True, help="The event.")
@click.option(
    "--minutes",
    type=AsciiInt(minimum=1),
    default=None,
    help="missed_call: not returned within this many minutes.",
)
@click.option(
    "--field",
    "field_name",
    default=None,
    help="field_value: a contact field or custom.KEY; date_reached: custom.KEY.",
)
@click.option("--value", default=None, help="field_value: the value that fires.")
@click.option("--params", "raw_params", default=None, help="The parameters as JSON instead.")
@click.option("--channel", type=click.Choice(["email", "sms"]), default="email", show_default=True)
@template_options("Template id.")
@click.option("--sender", required=True, help="Account or gateway (sales, or email:sales).")
@click.option("--disabled", is_flag=True, help="Save it disabled.")
@json_option
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    kind: str,
    minutes: int | None,
    field_name: str | None,
    value: str | None,
    raw_params: str | None,
    channel: str,
    template_id: int,
    template_version: int | None,
    sender: str,
    disabled: bool,
    as_json: bool,
) -> None:
    """Save a rule (checked now: event, template, sender)."""
    params: dict[str, Any] = {}
    if raw_params is not None:
        params = json_object(raw_params, "--params")
    if minutes is not None:
        params["minutes"] = minutes
    if field_name is not None:
        params["field"] = field_name
    if value is not None:
        params["value"] = value
    if kind == TriggerKind.FIELD_VALUE.value and "value" not in params:
        raise ValidationError("a field_value rule needs --value", field="params.value")
    spec = TriggerSpec(
        name=name,
        kind=kind,
        params=params,
        channel=channel,
        template_id=template_id,
        template_version=template_version,
        sender=sender,
        enabled=not disabled,
    )

    async def go() -> tuple[dict[str, Any], RuleRow]:
        async with open_store(ctx) as store:
            manager = _manager(ctx, store)
            row = await manager.create(spec, created_by=CLI_USER)
            return (await manager.described([row]))[0], row

    described, row = run(go())
    if as_json:
        emit_json(described)
    else:
        _print_rule(ctx, described, row, None)


@trigger.command("list")
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every rule with its firings per outcome."""

    async def go() -> tuple[list[dict[str, Any]], list[RuleRow]]:
        async with open_store(ctx) as store:
            manager = _manager(ctx, store)
            rows = await store.triggers.list_all()
            return await manager.described(rows), rows

    described, rows = run(go())
    if as_json:
        emit_json({"items": described})
        return
    locale = locale_of(ctx)
    columns = ["id", "name", "state", "kind", "firings"]
    table(
        [
            {
                "id": r.id,
                "name": r.name,
                "state": _state(locale, r),
                "kind": what(locale, r),
                "firings": _counts(locale, d["firings"]),
            }
            for r, d in zip(rows, described, strict=True)
        ],
        columns,
        titles=[i18n.text(locale, f"cli_trigger.{c}") for c in (*columns[:4], "firings_column")],
        empty=i18n.text(locale, "cli_activity.none"),
    )


@trigger.command("show")
@click.argument("rule_id", type=ID)
@click.option(
    "--limit", type=AsciiInt(minimum=1, maximum=500), default=FIRINGS_SHOWN, show_default=True
)
@click.option("--after", type=AsciiInt(minimum=0), default=0, help="Firings after this id.")
@json_option
@click.pass_context
def show(ctx: click.Context, rule_id: int, limit: int, after: int, as_json: bool) -> None:
    """A rule and its firings, each with what became of its message."""

    async def go() -> tuple[dict[str, Any], RuleRow, list[FiringRow]]:
        async with open_store(ctx) as store:
            manager = _manager(ctx, store)
            row = await store.triggers.get(rule_id)
            firings = await manager.firings(rule_id, after=after, limit=limit)
            return (await manager.described([row]))[0], row, firings

    described, row, firings = run(go())
    if as_json:
        emit_json({**described, "items": [f.as_dict() for f in firings]})
    else:
        _print_rule(ctx, described, row, firings)


def _action(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("rule_id", type=ID)
    @json_option
    @click.pass_context
    def command(ctx: click.Context, rule_id: int, as_json: bool) -> None:
        async def go() -> tuple[dict[str, Any], RuleRow]:
            async with open_store(ctx) as store:
                manager = _manager(ctx, store)
                if name == "enable":
                    row = await manager.enable(rule_id)
                elif name == "disable":
                    row = await manager.disable(rule_id)
                else:
                    row = await manager.delete(rule_id)
                    return {**row.as_dict(), "deleted": True}, row
                return (await manager.described([row]))[0], row

        described, row = run(go())
        if as_json:
            emit_json(described)
        elif name == "delete":
            click.echo(
                i18n.text(
                    locale_of(ctx),
                    "cli_trigger.deleted",
                    id=row.id,
                    name=row.name,
                    campaign=row.campaign_id,
                )
            )
        else:
            _print_rule(ctx, described, row, None)

    return command


trigger.add_command(_action("enable", "Enable a rule: it fires again, its campaign sends."))
trigger.add_command(_action("disable", "Disable a rule: it fires no more, queued sends wait."))
trigger.add_command(_action("delete", "Delete a rule and its firings; its campaign is cancelled."))
