"""`touchhub email send`: one letter through an account's SMTP sender, recorded at once."""

from __future__ import annotations

from typing import IO, Any

import click

from hub import i18n
from hub.channels.email.plugin import PLUGIN as EMAIL
from hub.cli.common import emit_json, json_option, locale_of, run, send_once, settings_of, utf8_text
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SendResult


@click.group()
def email() -> None:
    """E-mail: send letters through a configured account."""


@email.command("send")
@click.option("--from", "account", required=True, help="Account name ([email.accounts.NAME]).")
@click.option("--to", "to", multiple=True, required=True, help="Recipient (repeat for more).")
@click.option("--subject", required=True)
@click.option(
    "--body-file", type=click.File("rb"), required=True, help="UTF-8 text; - = stdin."
)
@json_option
@click.pass_context
def send(
    ctx: click.Context,
    account: str,
    to: tuple[str, ...],
    subject: str,
    body_file: IO[bytes],
    as_json: bool,
) -> None:
    """Send one letter and record it as an outgoing touch (bounced recipients marked)."""
    settings = settings_of(ctx)
    message = OutgoingMessage(
        channel=Channel.EMAIL,
        to=tuple(Address(kind=AddressKind.EMAIL, value=a) for a in to),
        subject=subject,
        body=utf8_text(body_file.read(), "--body-file"),
    )

    result = run(send_once(settings, lambda w: EMAIL.sender(settings, account, w), message))
    if as_json:
        emit_json(_as_dict(result))
    else:
        locale = locale_of(ctx)
        for rcpt in result.recipients:
            code = f" {rcpt.code}" if rcpt.code else ""
            reason = f" {rcpt.reason}" if rcpt.reason else ""
            outcome = i18n.text(locale, f"send_outcome.{rcpt.outcome.value}", rcpt.outcome.value)
            click.echo(f"{rcpt.address.value}: {outcome}{code}{reason}")
        click.echo(
            i18n.text(locale, "cli_email.detail", id=result.external_id, attempts=i18n.number(locale, result.attempts))
        )
    if not result.ok:
        ctx.exit(1)


def _as_dict(result: SendResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome.value,
        "message_id": result.external_id,
        "attempts": result.attempts,
        "recipients": [
            {
                "address": r.address.value,
                "outcome": r.outcome.value,
                "code": r.code,
                "reason": r.reason,
            }
            for r in result.recipients
        ],
        "recorded": result.touch is not None,
    }
