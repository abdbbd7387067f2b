"""`touchhub sms send` and `sms segments`: one SMS through a gateway, and how a text splits."""

from __future__ import annotations

import click

from hub import i18n
from hub.channels.sms.encoding import count_segments
from hub.channels.sms.factory import holder_of
from hub.channels.sms.plugin import PLUGIN as SMS
from hub.channels.sms.quiet_hours import URGENT_KEY, held_until_of
from hub.cli.common import emit_json, json_option, locale_of, run, send_once, settings_of
from hub.errors import ConfigError, ValidationError
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
        raise ValidationError(
            f"quiet hours at {to} until {until:%Y-%m-%d %H:%M} UTC: nothing sent, nothing recorded "
            "(send through the running hub's API to have it held, or add --urgent)",
            field="to",
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
        locale = locale_of(ctx)
        said = "held" if held_until else result.outcome.value
        outcome = i18n.text(locale, f"send_outcome.{said}", said)
        line = i18n.text(locale, "cli_sms.result", to=to, outcome=outcome)
        click.echo(f"{line} {result.code or ''} {result.reason or ''}".rstrip())
        click.echo(
            i18n.text(
                locale, "cli_sms.detail", id=result.external_id, gateway=name,
                attempts=i18n.number(locale, result.attempts),
            )
        )  # fmt: skip
    if not result.ok and not held_until:
        ctx.exit(1)


@sms.command("segments")
@click.argument("text")
@json_option
@click.pass_context
def segments(ctx: click.Context, text: str, as_json: bool) -> None:
    """How TEXT goes on the wire: encoding, parts, and characters left in the last part."""
    counted = count_segments(text)
    data = counted.as_dict()
    if as_json:
        emit_json(data)
    else:
        locale = locale_of(ctx)
        click.echo(
            i18n.text(
                locale,
                "cli_sms.segments",
                encoding=counted.encoding.value,
                parts=i18n.counted(locale, "cli.parts", counted.parts),
                units=i18n.number(locale, counted.units),
                left=i18n.number(locale, counted.left_in_last_part),
                per_part=i18n.number(locale, counted.per_part),
            )
        )
