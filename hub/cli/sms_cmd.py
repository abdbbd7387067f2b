"""`touchhub sms send` and `sms segments`: one SMS through a gateway, and how a text splits."""

from __future__ import annotations

import click

from hub.channels.sms.encoding import count_segments
from hub.channels.sms.factory import holder_of
from hub.channels.sms.plugin import PLUGIN as SMS
from hub.channels.sms.quiet_hours import URGENT_KEY, held_until_of
from hub.cli.common import emit_json, json_option, run, send_once, settings_of
from hub.errors import ConfigError
from hub.model import Address, AddressKind, Channel, OutgoingMessage


@click.group()
def sms() -> None:
    """SMS: send through a configured gateway, count a text's parts."""


@sms.command("send")
@click.option("--to", "to", required=True, help="Recipient's phone number.")
@click.option("--text", required=True, help="The text (GSM 7-bit when it fits, else UCS-2).")
@click.option("--gateway", default=None, help="Gateway name ([sms.gateways.NAME]); default: [sms] default_gateway.")
@click.option("--urgent", is_flag=True, help="Send now even in the recipient's quiet hours.")
@json_option
@click.pass_context
def send(ctx: click.Context, to: str, text: str, gateway: str | None, urgent: bool, as_json: bool) -> None:
    """Send one SMS and record it as an outgoing touch; reports update it later."""
    settings = settings_of(ctx)
    section = SMS.settings_of(settings)
    try:
        name = section.gateway_name(gateway)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    message = OutgoingMessage(
        channel=Channel.SMS,
        to=(Address(kind=AddressKind.PHONE, value=to),),
        body=text,
        metadata={URGENT_KEY: True} if urgent else {},
    )

    holder = holder_of(section)
    until = holder.until(message) if holder is not None else None
    if until is not None:  # this command cannot wait out the night: the running hub does that
        raise click.ClickException(
            f"quiet hours at {to} until {until:%Y-%m-%d %H:%M} UTC: nothing sent, nothing recorded "
            "(send through the running hub's API to have it held, or add --urgent)"
        )
    result = run(send_once(settings, lambda w: SMS.sender(settings, name, w), message))
    held_until = held_until_of(result)
    if as_json:
        emit_json(
            {
                "outcome": "held" if held_until else result.outcome.value,
                "held_until": held_until,
                "message_id": result.external_id,
                "gateway": name,
                "code": result.code,
                "reason": result.reason,
                "attempts": result.attempts,
            }
        )
    else:
        click.echo(f"{to}: {result.outcome.value} {result.code or ''} {result.reason or ''}".rstrip())
        click.echo(f"message id: {result.external_id}  gateway: {name}  attempts: {result.attempts}")
    if not result.ok and not held_until:
        ctx.exit(1)


@sms.command("segments")
@click.argument("text")
@json_option
def segments(text: str, as_json: bool) -> None:
    """How TEXT goes on the wire: encoding, parts, and characters left in the last part."""
    data = count_segments(text).as_dict()
    if as_json:
        emit_json(data)
    else:
        click.echo(
            f"{data['encoding']}: {data['parts']} part(s), {data['units']} units, "
            f"{data['left_in_last_part']} left in the last part of {data['per_part']}"
        )
