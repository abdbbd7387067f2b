"""`touchhub init`: write a commented config and create the store."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click

from hub import i18n
from hub.cli import language
from hub.cli.common import open_store_from, run
from hub.config import DEFAULT_CONFIG_FILE, load_settings
from hub.i18n import default_locale
from hub.urls import mask_url


def config_template() -> str:
    """The commented example config shipped with touchhub."""
    return (files("hub.cli") / "config_template.toml").read_text(encoding="utf-8")


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Write touchhub.toml with commented examples for every channel, then migrate the store."""
    root = ctx.find_root().obj
    path = Path(root.get("config_file") or DEFAULT_CONFIG_FILE)
    kept = path.exists() and not force
    if not kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_template(), encoding="utf-8")
    settings = load_settings(path, db_url=root.get("db_url"))
    locale = language.chosen(ctx) or default_locale(settings.web.locale, settings.kpi.timezone)
    click.echo(i18n.text(locale, "cli_first.kept" if kept else "cli_first.wrote", path=path))

    async def migrate() -> None:
        store = await open_store_from(settings, locale)
        await store.close()

    run(migrate())
    click.echo(i18n.text(locale, "cli_first.ready", url=mask_url(settings.store_url)))
