"""The `touchhub` command line: one module per area, loaded only when its command runs.

Each area (contacts, ami, email, kpi …) lives in its own module under `hub.cli`
and is listed in `COMMANDS`; a command's imports cost nothing until it is used.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import IO, Any

import click

from hub import i18n
from hub.cli import language
from hub.errors import TouchhubError
from hub.i18n.api_errors import said_in

#: command name → "module:attribute" of its click command or group.
COMMANDS: dict[str, str] = {
    "init": "hub.cli.setup_cmd:init",
    "serve": "hub.cli.serve_cmd:serve",
    "sync": "hub.cli.serve_cmd:sync",
    "health": "hub.cli.serve_cmd:health",
    "import": "hub.cli.import_cmd:import_group",
    "contacts": "hub.cli.contacts_cmd:contacts",
    "activities": "hub.cli.activities_cmd:activities",
    "employees": "hub.cli.employees_cmd:employees",
    "interaction": "hub.cli.activities_cmd:interaction",
    "token": "hub.cli.token_cmd:token",
    "demo": "hub.cli.demo_cmd:demo",
    "ami": "hub.cli.ami_cmd:ami",
    "call": "hub.cli.ami_cmd:call",
    "email": "hub.cli.email_cmd:email",
    "sms": "hub.cli.sms_cmd:sms",
    "messenger": "hub.cli.messenger_cmd:messenger",
    "telegram": "hub.cli.telegram_cmd:telegram",
    "kpi": "hub.cli.kpi_cmd:kpi",
    "suppressions": "hub.cli.suppressions_cmd:suppressions",
    "campaign": "hub.cli.campaign_cmd:campaign",
    "template": "hub.cli.template_cmd:template",
    "segment": "hub.cli.segment_cmd:segment",
    "trigger": "hub.cli.trigger_cmd:trigger",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for number, arg in enumerate(args, start=1):
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError as exc:
                # bytes that are not UTF-8 reach Python as lone surrogates, which no
                # database or terminal can take further
                raise click.UsageError(f"argument {number} is not valid UTF-8 text", ctx) from exc
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TouchhubError as exc:
            locale = language.chosen(ctx) or language.FALLBACK
            raise OneLineError(said_in(locale, str(exc)), locale) from exc
        except OSError as exc:
            raise OneLineError(os_error_message(exc)) from exc


class OneLineError(click.ClickException):
    """A refusal printed as one line on stderr (``Error: …``), exit code 1.

    Every `hub.errors` error and every `OSError` a command meets ends here, so a user
    never sees a traceback for input or a file that is wrong.
    """

    def __init__(self, message: str, locale: str = "en") -> None:
        super().__init__(" ".join(message.split()) or "failed")
        self.locale = locale

    def show(self, file: IO[Any] | None = None) -> None:
        said = i18n.text(self.locale, "cli.error", message=self.format_message())
        click.echo(said, file=file if file is not None else sys.stderr)


def os_error_message(exc: OSError) -> str:
    """`OSError` as a user reads it: the file and the reason, without errno noise."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


@click.group(cls=LazyGroup)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $TOUCHHUB_CONFIG, else touchhub.toml here or in a parent folder).",
)
@click.option("--db", "db_url", default=None, help="Store URL; overrides [store] url.")
@click.option(
    "--lang",
    type=click.Choice(["ru", "en"]),
    default=None,
    help="Language of the human output (default: [web] locale, else by [kpi] timezone).",
)
@click.version_option(package_name="touchhub")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, db_url: str | None, lang: str | None) -> None:
    """touchhub: every client touch from every channel in one activity store."""
    ctx.ensure_object(dict)
    ctx.obj["config_file"] = config_file
    ctx.obj["db_url"] = db_url
    if lang is not None:
        language.choose(ctx, lang)
    else:
        _store_language(ctx)


def _store_language(ctx: click.Context) -> None:
    """Without `--lang` a command speaks its store's language: read the settings now, so its
    output and its error lines, even one about its arguments, agree. Settings that cannot
    be read choose nothing here; the command says why when it reads them itself."""
    # Imported here, when a command is about to run and its module has loaded it already;
    # at the top it would load the store's code for `touchhub --version` too.
    from hub.cli.common import settings_of

    with contextlib.suppress(TouchhubError):
        settings_of(ctx)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="touchhub")
