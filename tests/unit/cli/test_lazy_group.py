"""`touchhub`'s group: the command table's lines are the commands' own, and listing the
commands (or asking a command's help) loads none of what only some paths need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from hub.cli import COMMANDS, cli

#: Widths click lays help out at (its own range is 50 to 78 columns) and beyond.
WIDTHS = (50, 64, 78, 120)
#: Packages a command's `--help` has no use for: only a store being migrated needs
#: alembic (and mako through it), only an .xlsx export openpyxl.
OPTIONAL = {"alembic", "mako", "openpyxl"}
#: What listing the commands must not load: the store, the wiring, the web stack.
COMMAND_CODE = {"hub.config", "hub.activity", "sqlalchemy", "aiohttp", "hub.cli.common"}
#: Runs command lines one after another in one process and says on stderr which modules
#: they loaded together.
PROBE = """
import json, sys
from hub.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args)
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
PROBE_TIMEOUT_S = 60.0


def real_commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    found = {name: cli.get_command(ctx, name) for name in COMMANDS}
    assert all(command is not None for command in found.values())
    return {name: command for name, command in found.items() if command is not None}


def test_every_listed_line_is_the_commands_own_at_every_width() -> None:
    for name, command in real_commands().items():
        stand_in = click.Command(name, help=COMMANDS[name].summary)
        assert not command.hidden, name
        for limit in range(1, 121):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), (
                name,
                limit,
            )


def test_the_listing_is_the_one_the_imported_commands_give() -> None:
    imported = click.Group(commands=real_commands())
    ctx = click.Context(cli, info_name="touchhub")
    for width in WIDTHS:
        listed, expected = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
        cli.format_commands(ctx, listed)
        imported.format_commands(ctx, expected)
        assert listed.getvalue() == expected.getvalue()
        assert listed.getvalue().count("\n") > len(COMMANDS)


def loaded_by(command_lines: list[list[str]], tmp_path: Path, *, shows: str = "") -> set[str]:
    """The modules these `touchhub` command lines load, run in a process of their own
    away from any config (but one given with `--config`); the output must hold `shows`
    (by default the usage or the version)."""
    env = {k: v for k, v in os.environ.items() if k != "TOUCHHUB_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(command_lines)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=True,
    )
    if shows:
        assert shows in done.stdout, done.stdout + done.stderr
    else:
        assert "Usage:" in done.stdout or "version" in done.stdout, done.stdout + done.stderr
    modules: list[str] = json.loads(done.stderr.splitlines()[-1])
    return set(modules)


def optional_in(loaded: set[str]) -> set[str]:
    """The optional packages among `loaded` modules."""
    return {name.split(".")[0] for name in loaded} & OPTIONAL


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_listing_the_commands_loads_none_of_them(args: list[str], tmp_path: Path) -> None:
    loaded = loaded_by([args], tmp_path)
    assert "click" in loaded
    assert not loaded & COMMAND_CODE, sorted(loaded & COMMAND_CODE)
    assert not optional_in(loaded), sorted(optional_in(loaded))
    assert not {name for name in loaded if name.startswith("hub.cli.") and name.endswith("_cmd")}


def test_the_commands_help_loads_no_optional_package(tmp_path: Path) -> None:
    # one process for the three: what they load together must hold none of them either
    commands = ["health", "kpi", "campaign"]
    loaded = loaded_by([[command, "--help"] for command in commands], tmp_path)
    assert {"hub.config", "hub.cli.serve_cmd", "hub.cli.kpi_cmd", "hub.cli.campaign_cmd"} <= loaded
    assert not optional_in(loaded), sorted(optional_in(loaded))


def test_a_store_command_with_bots_configured_loads_no_messenger_code(tmp_path: Path) -> None:
    """Reading the config loads every plug-in; the messenger one names its senders from the
    settings and loads python-telegram-bot and the platforms' clients only to build them."""
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        '[messengers.telegram.main]\ntoken = "123:abc"\n\n'
        '[messengers.vk.club]\ngroup_id = 1\naccess_token = "t"\nsecret = "s"\nconfirmation = "c"\n',
        encoding="utf-8",
    )
    loaded = loaded_by([["--config", str(config), "--lang", "en", "contacts", "list"]], tmp_path, shows="(none)")
    assert {"hub.config", "hub.cli.contacts_cmd", "hub.channels.messengers.plugin"} <= loaded
    heavy = {"telegram", "httpx", "hub.channels.messengers.factory", "hub.channels.messengers.webhooks"}
    assert not heavy & loaded, sorted(heavy & loaded)
