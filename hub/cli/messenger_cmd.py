"""`touchhub messenger send` and `messenger dialogs`: write to a client, list the dialogs.

Both take the dialogs' one set of rules (`hub.activity.dialog_rules`) and the reply road
the API takes (`hub.activity.dialog_replies`); the senders are the configured messenger
accounts, built as the running hub builds them, recording into this store.
"""

from __future__ import annotations

from typing import Any

import click

from hub import i18n
from hub.activity import ADMIN, ActivityStore, Principal, Role, dialog_replies
from hub.activity.dialog_rules import PLATFORMS, platform, source_for
from hub.activity.repos import MAX_PAGE, DialogFilter
from hub.cli.common import (
    ID,
    AsciiInt,
    emit_json,
    json_option,
    locale_of,
    open_store,
    open_store_from,
    run,
    settings_of,
    table,
)
from hub.errors import ConfigError
from hub.runtime import build_senders, close_senders


@click.group()
def messenger() -> None:
    """Messenger dialogs (Telegram, WhatsApp, VK, Viber): write to clients, list dialogs."""


async def _principal(store: ActivityStore, as_ref: str | None) -> Principal:
    """The local operator (admin), or `--as` an employee: then a reply is theirs and the
    dialogs are the ones they see (their own and their group's)."""
    if as_ref is None:
        return ADMIN
    employee = await store.employees.resolve(as_ref)
    return Principal(name=f"cli as #{employee}", role=Role.HEAD.value, employee_id=employee)


AS_OPTION = click.option(
    "--as",
    "as_ref",
    default=None,
    help="Act as this employee (id, extension, e-mail or name); default: admin.",
)


@messenger.command("send")
@click.option("--contact", type=ID, required=True, help="Contact id.")
@click.option(
    "--channel", "platform_name", required=True, type=click.Choice(PLATFORMS), help="Messenger."
)
@click.option("--account", default=None, help="Account (bot) name; default: the contact's last.")
@click.option("--text", required=True, help="The message.")
@AS_OPTION
@json_option
@click.pass_context
def send(
    ctx: click.Context,
    contact: int,
    platform_name: str,
    account: str | None,
    text: str,
    as_ref: str | None,
    as_json: bool,
) -> None:
    """Send TEXT to a contact's chat and record it as an outgoing message."""
    settings = settings_of(ctx)
    name = platform(platform_name)

    async def main() -> dialog_replies.Reply:
        store = await open_store_from(settings)
        try:
            async with store.writer() as writer:
                senders = build_senders(settings, writer)
                try:
                    accounts = dialog_replies.accounts_of(senders, name)
                    if account is not None:
                        if account not in accounts:
                            raise ConfigError(
                                f"no {name} account {account!r} is configured to send from"
                                + (f" (configured: {', '.join(accounts)})" if accounts else "")
                            )
                        accounts = [account]
                    if not accounts:
                        raise ConfigError(f"no {name} account is configured to send from")
                    scope = await store.dialogs.scope(await _principal(store, as_ref))
                    target = await store.dialogs.target_for_contact(contact, name, accounts, scope)
                    return await dialog_replies.send(store.dialogs, senders, scope, target, text)
                finally:
                    await close_senders(senders)
        finally:
            await store.close()

    reply = run(main())
    data = {
        "outcome": reply.result.outcome.value,
        "message_id": reply.result.external_id,
        "account": reply.target.source,
        "chat": reply.target.chat,
        "dialog_id": reply.dialog_id,
    }
    if as_json:
        emit_json(data)
    else:
        locale = locale_of(ctx)
        outcome = reply.result.outcome.value
        click.echo(
            i18n.text(
                locale,
                "cli_messenger.sent",
                account=reply.target.source,
                chat=reply.target.chat,
                outcome=i18n.text(locale, f"send_outcome.{outcome}", outcome),
                message=data["message_id"],
                dialog=data["dialog_id"],
            )
        )


@messenger.command("dialogs")
@click.option("--unanswered", is_flag=True, help="Only dialogs waiting for a reply.")
@click.option("--mine", is_flag=True, help="Only the dialogs of the employee given with --as.")
@click.option("--channel", "platform_name", type=click.Choice(PLATFORMS), default=None)
@click.option("--account", default=None, help="Only this account (with --channel).")
@click.option("--limit", default=50, show_default=True, type=AsciiInt(1, MAX_PAGE))
@click.option("--cursor", default=None, help="Continue from a previous page.")
@AS_OPTION
@json_option
@click.pass_context
def dialogs(
    ctx: click.Context,
    unanswered: bool,
    mine: bool,
    platform_name: str | None,
    account: str | None,
    limit: int,
    cursor: str | None,
    as_ref: str | None,
    as_json: bool,
) -> None:
    """List dialogs, latest message first, with their unread counts."""
    if account is not None and platform_name is None:
        raise click.UsageError("--account needs --channel")
    if mine and as_ref is None:
        raise click.UsageError("--mine needs --as EMPLOYEE")

    async def main() -> tuple[list[dict[str, Any]], str | None]:
        async with open_store(ctx) as store:
            scope = await store.dialogs.scope(await _principal(store, as_ref))
            flt = DialogFilter(
                mine=mine,
                unanswered=unanswered,
                platform=platform_name,
                source=source_for(platform_name, account)
                if platform_name is not None and account is not None
                else None,
            )
            page = await store.dialogs.list(scope, flt, limit=limit, cursor=cursor)
            return page.items, page.next_cursor

    items, next_cursor = run(main())
    if as_json:
        emit_json({"items": items, "next_cursor": next_cursor})
        return
    locale = locale_of(ctx)
    tz = settings_of(ctx).kpi.timezone
    rows = [
        {
            "id": d["id"],
            "account": d["source"],
            "contact": d["contact_name"] or d["counterpart"],
            "owner": d["owner_name"] or i18n.text(locale, "cli_messenger.nobody"),
            "unread": i18n.number(locale, d["unread"]),
            "waiting": i18n.when(locale, d["waiting_since"], tz) if d["waiting_since"] else "",
            "last": f"{'→' if d['last_direction'] == 'out' else '←'} {_short(d['last_preview'])}",
        }
        for d in items
    ]
    columns = ["id", "account", "contact", "owner", "unread", "waiting", "last"]
    table(
        rows,
        columns,
        titles=[i18n.text(locale, f"cli_messenger.{c}") for c in columns],
        empty=i18n.text(locale, "cli_messenger.none"),
    )
    if next_cursor:
        click.echo(i18n.text(locale, "cli_messenger.more", cursor=next_cursor))


def _short(text: str | None, width: int = 40) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
