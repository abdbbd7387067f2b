"""`touchhub template …`: save templates and new versions (checked first), list them, show one."""

from __future__ import annotations

import click

from hub import i18n
from hub.campaigns.engine import template_of
from hub.cli.common import ID, emit_json, json_option, locale_of, open_store, run, table
from hub.errors import ValidationError
from hub.templates import Template, template_from, validate

CLI_USER = "cli"


def _checked(channel: str, subject: str | None, html: str | None, text: str | None) -> Template:
    """The template the options describe, validated (a `TemplateError` names part and line)."""
    if channel == "sms" and not text:
        raise ValidationError("an SMS template needs --text", field="text")
    if channel != "sms" and (not subject or not html):
        raise ValidationError("an e-mail template needs --subject and --html", field="html")
    template = template_from(channel, subject=subject, html=html, text=text)
    validate(template)
    return template


@click.group()
def template() -> None:
    """Message templates: every save is a new version; campaigns pin one."""


@template.command("create")
@click.option("--name", required=True)
@click.option("--channel", type=click.Choice(["email", "sms"]), default="email", show_default=True)
@click.option("--subject", default=None)
@click.option("--html", default=None)
@click.option("--text", default=None, help="E-mail: the text part (default: from the HTML).")
@json_option
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    channel: str,
    subject: str | None,
    html: str | None,
    text: str | None,
    as_json: bool,
) -> None:
    """Save a new template with its first version."""
    _checked(channel, subject, html, text)

    async def go() -> tuple[int, int]:
        async with open_store(ctx) as store:
            saved = await store.templates.create(name=name, channel=channel, created_by=CLI_USER)
            version = await store.templates.add_version(
                saved.id, subject=subject, html=html, text=text, created_by=CLI_USER
            )
            return saved.id, version.version

    template_id, version = run(go())
    if as_json:
        emit_json({"id": template_id, "version": version})
    else:
        click.echo(i18n.text(locale_of(ctx), "cli_template.saved", id=template_id, version=version))


@template.command("add-version")
@click.argument("template_id", type=ID)
@click.option("--subject", default=None)
@click.option("--html", default=None)
@click.option("--text", default=None)
@click.pass_context
def add_version(
    ctx: click.Context,
    template_id: int,
    subject: str | None,
    html: str | None,
    text: str | None,
) -> None:
    """Save the next version of a template."""

    async def go() -> int:
        async with open_store(ctx) as store:
            saved = await store.templates.get(template_id)
            _checked(saved.channel, subject, html, text)
            version = await store.templates.add_version(
                template_id, subject=subject, html=html, text=text, created_by=CLI_USER
            )
            return version.version

    saved = run(go())
    click.echo(i18n.text(locale_of(ctx), "cli_template.saved", id=template_id, version=saved))


@template.command("list")
@json_option
@click.pass_context
def list_templates(ctx: click.Context, as_json: bool) -> None:
    """Every template, by name, with its newest version."""

    async def go() -> list[dict[str, object]]:
        async with open_store(ctx) as store:
            return [
                {"id": t.id, "name": t.name, "channel": t.channel, "version": newest, "created_by": t.created_by}
                for t, newest in await store.templates.list()
            ]

    rows = run(go())
    if as_json:
        emit_json(rows)
        return
    locale = locale_of(ctx)
    for row in rows:
        row["channel"] = i18n.channel_name(str(row["channel"]), locale)
    columns = ["id", "name", "channel", "version"]
    table(
        rows,
        columns,
        titles=[i18n.text(locale, f"cli_template.{c}") for c in columns],
        empty=i18n.text(locale, "cli_template.none"),
    )


@template.command("show")
@click.argument("template_id", type=ID)
@click.option("--version", type=ID, default=None, help="Default: the newest.")
@json_option
@click.pass_context
def show(ctx: click.Context, template_id: int, version: int | None, as_json: bool) -> None:
    """A template version's texts."""

    async def go() -> dict[str, object]:
        async with open_store(ctx) as store:
            saved = await store.templates.get(template_id)
            found = await store.templates.version(template_id, version)
            validate(template_of(found))
            return {
                "id": saved.id,
                "name": saved.name,
                "channel": saved.channel,
                "version": found.version,
                "subject": found.subject,
                "html": found.html,
                "text": found.text,
            }

    data = run(go())
    if as_json:
        emit_json(data)
        return
    locale = locale_of(ctx)
    for key, value in data.items():
        if value is not None:
            shown = i18n.channel_name(str(value), locale) if key == "channel" else value
            click.echo(f"{i18n.text(locale, f'cli_template.{key}')}: {shown}")
