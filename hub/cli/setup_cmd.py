"""`touchhub init`: write a commented config and create the store."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click

from hub.cli.common import open_store_from, run
from hub.config import DEFAULT_CONFIG_FILE, load_settings
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
    if path.exists() and not force:
        click.echo(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_template(), encoding="utf-8")
        click.echo(f"wrote {path}")
    settings = load_settings(path, db_url=root.get("db_url"))

    async def migrate() -> None:
        store = await open_store_from(settings)
        await store.close()

    run(migrate())
    click.echo(f"store ready at {mask_url(settings.store_url)}")
