"""The `touchhub` command line: one module per area, loaded only when its command runs.

Each area (contacts, ami, email, kpi …) lives in its own module under `hub.cli`
and is listed in `COMMANDS` with the line `touchhub --help` shows for it; a command's
imports cost nothing until it is used, and listing the commands imports none of them.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from dataclasses import dataclass
from typing import IO, Any

import click

from hub import i18n
from hub.cli import language
from hub.errors import TouchhubError
from hub.i18n.api_errors import said_in


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """A command as the group knows it before importing it."""

    #: "module:attribute" of its click command or group.
    target: str
    #: Its help's first sentence, as its own `get_short_help_str()` gives it at any width
    #: (a test holds the two together).
    summary: str


#: command name → where its click command lives and the line `touchhub --help` shows for it.
COMMANDS: dict[str, Listed] = {
    "init": Listed(
        target="hub.cli.setup_cmd:init",
        summary="Write touchhub.toml with commented examples for every channel, then migrate the store.",
    ),
    "serve": Listed(
        target="hub.cli.serve_cmd:serve",
        summary="Run the hub: web API and dashboard, adapters, scheduler, until SIGTERM/SIGINT.",
    ),
    "sync": Listed(
        target="hub.cli.serve_cmd:sync",
        summary="Run capture adapters until they are caught up, then exit.",
    ),
    "health": Listed(
        target="hub.cli.serve_cmd:health",
        summary="Ask a running hub how its store, writer and adapters are; else check the store.",
    ),
    "import": Listed(
        target="hub.cli.import_cmd:import_group",
        summary="Import data from files.",
    ),
    "contacts": Listed(
        target="hub.cli.contacts_cmd:contacts",
        summary="Client contacts.",
    ),
    "activities": Listed(
        target="hub.cli.activities_cmd:activities",
        summary="Recorded touches across all channels.",
    ),
    "employees": Listed(
        target="hub.cli.employees_cmd:employees",
        summary="Employees, their extensions and mailboxes, and who heads whom.",
    ),
    "interaction": Listed(
        target="hub.cli.activities_cmd:interaction",
        summary="Meetings, tasks and calls entered by hand.",
    ),
    "token": Listed(
        target="hub.cli.token_cmd:token",
        summary="API tokens.",
    ),
    "demo": Listed(
        target="hub.cli.demo_cmd:demo",
        summary="Demo data for trying touchhub and for benchmarks.",
    ),
    "ami": Listed(
        target="hub.cli.ami_cmd:ami",
        summary="Asterisk AMI: replay recorded streams, backfill calls.",
    ),
    "call": Listed(
        target="hub.cli.ami_cmd:call",
        summary="Ring EMPLOYEE's phone, then dial the client; the call is logged like any other.",
    ),
    "email": Listed(
        target="hub.cli.email_cmd:email",
        summary="E-mail: send letters through a configured account.",
    ),
    "sms": Listed(
        target="hub.cli.sms_cmd:sms",
        summary="SMS: send through a configured gateway, count a text's parts.",
    ),
    "messenger": Listed(
        target="hub.cli.messenger_cmd:messenger",
        summary="Messenger dialogs (Telegram, WhatsApp, VK, Viber): write to clients, list dialogs.",
    ),
    "telegram": Listed(
        target="hub.cli.telegram_cmd:telegram",
        summary="Telegram bots: deep links that link a client's chat to a contact.",
    ),
    "kpi": Listed(
        target="hub.cli.kpi_cmd:kpi",
        summary="KPI of employees for a period: fact, plan, %, colour and the arrow against the last period.",
    ),
    "suppressions": Listed(
        target="hub.cli.suppressions_cmd:suppressions",
        summary="Addresses campaigns do not send to (unsubscribed, bounced, opted out).",
    ),
    "campaign": Listed(
        target="hub.cli.campaign_cmd:campaign",
        summary="Campaigns: a template version sent to a segment through one sender.",
    ),
    "template": Listed(
        target="hub.cli.template_cmd:template",
        summary="Message templates: every save is a new version; campaigns pin one.",
    ),
    "segment": Listed(
        target="hub.cli.segment_cmd:segment",
        summary="Segments: named filters over the contacts (see decision 0020 for the language).",
    ),
    "trigger": Listed(
        target="hub.cli.trigger_cmd:trigger",
        summary="Trigger rules: on an event, send a template to the contact.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        listed = COMMANDS.get(cmd_name)
        if listed is None:
            return None
        module_name, attr = listed.target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The lines come from the table: importing every command to ask its help loaded
        # all of the hub (aiohttp, SQLAlchemy, openpyxl, alembic): seconds (decision 0077).
        # Stand-ins with the same help let click lay them out and shorten them as before.
        stand_ins = [click.Command(name, help=listed.summary) for name, listed in COMMANDS.items()]
        click.Group(commands=stand_ins).format_commands(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for number, arg in enumerate(args, start=1):
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError as exc:
                # bytes that are not UTF-8 reach Python as lone surrogates, which no
                # database or terminal can take further
                raise click.UsageError(f"argument {number} is not valid UTF-8 text", ctx) from exc
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:  # touchhub's own options (--lang xx)
            raise LocalUsageError.of(exc, _error_language(ctx)) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TouchhubError as exc:
            locale = language.chosen(ctx) or language.FALLBACK
            raise OneLineError(said_in(locale, str(exc)), locale) from exc
        except OSError as exc:
            raise OneLineError(os_error_message(exc)) from exc
        except LocalUsageError:
            raise
        except click.UsageError as exc:  # a command's name, options or arguments
            raise LocalUsageError.of(exc, _error_language(ctx)) from None


def _error_language(ctx: click.Context) -> str:
    """The language of a refusal of the command line: the one chosen, else the store's
    (the refusal may come before the group chose it), else English."""
    if language.chosen(ctx) is None:
        _store_language(ctx)
    return language.chosen(ctx) or language.FALLBACK


class LocalUsageError(click.UsageError):
    """Click's refusal of a command line, said in the command's language: the usage line,
    where to find help, and one error line (click's words translated where the catalogue
    knows their shape, kept where it does not)."""

    def __init__(self, message: str, ctx: click.Context | None, locale: str) -> None:
        super().__init__(message, ctx)
        self.locale = locale

    @classmethod
    def of(cls, exc: click.UsageError, locale: str) -> LocalUsageError:
        if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter):
            hint = exc.param_hint
            if hint is None and exc.param is not None:
                hint = exc.param.get_error_hint(exc.ctx) if exc.ctx is not None else exc.param.name
            if hint is not None:
                shown = hint if isinstance(hint, str) else " / ".join(f"'{h}'" for h in hint)
                detail = said_in(locale, exc.message)
                return cls(i18n.text(locale, "cli.invalid_value", param=shown, detail=detail), exc.ctx, locale)
        return cls(said_in(locale, exc.format_message()), exc.ctx, locale)

    def show(self, file: IO[Any] | None = None) -> None:
        out = file if file is not None else sys.stderr
        if self.ctx is not None:
            click.echo(self.ctx.get_usage(), file=out)
            click.echo(i18n.text(self.locale, "cli.try_help", command=self.ctx.command_path), file=out)
            click.echo(file=out)
        click.echo(i18n.text(self.locale, "cli.error", message=self.format_message()), file=out)


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
