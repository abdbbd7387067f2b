"""`touchhub telegram link-token`: a signed t.me link that ties a client's Telegram to a contact."""

from __future__ import annotations

import click

from hub.channels.messengers.factory import contact_link
from hub.channels.messengers.plugin import PLUGIN as MESSENGERS
from hub.cli.common import emit_json, json_option, open_store, run, settings_of


@click.group()
def telegram() -> None:
    """Telegram bots: deep links that link a client's chat to a contact."""


@telegram.command("link-token")
@click.option("--contact", "contact_id", type=click.IntRange(min=1), required=True, help="Contact id.")
@click.option("--bot", default=None, help="Bot name ([messengers.telegram.NAME]); default: the only one.")
@json_option
@click.pass_context
def link_token(ctx: click.Context, contact_id: int, bot: str | None, as_json: bool) -> None:
    """Print the t.me link whose /start links the client's chat to contact ID."""
    section = MESSENGERS.settings_of(settings_of(ctx))

    async def main() -> tuple[str, str]:
        async with open_store(ctx) as store:
            contact = await store.contacts.get(contact_id)  # NotFound for an unknown id
        return str(contact["name"]), await contact_link(section, contact_id, bot)

    name, link = run(main())
    if as_json:
        emit_json({"contact": contact_id, "name": name, "link": link})
    else:
        click.echo(link)
