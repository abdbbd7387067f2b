"""What every command shares: settings, the store, async running, JSON output, progress.

Commands are plain click functions that call `run(coro)`; `open_store(ctx)` gives
them a migrated `ActivityStore` built from the settings and closes it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from hub import i18n
from hub.activity import (
    ADMIN,
    ActivityStore,
    CallbackPolicy,
    DialogPolicy,
    Principal,
    StoreOptions,
    WriterOptions,
)
from hub.cli import language
from hub.config import CONFIG_ENV, DEFAULT_CONFIG_FILE, Settings, load_settings
from hub.errors import Unauthenticated
from hub.i18n import default_locale
from hub.logging_setup import setup_logging
from hub.model import OutgoingMessage, Sender, SendResult, Sink
from hub.telephony.plugin import PLUGIN as TELEPHONY
from hub.text import MAX_INT64, ascii_int
from hub.urls import sqlite_file

T = TypeVar("T")


def settings_of(ctx: click.Context) -> Settings:
    """Load (once per invocation) the settings named by the global options; the command's
    language, unless `--lang` chose it, is then theirs (decision 0038)."""
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings(obj.get("config_file"), db_url=obj.get("db_url"))
        setup_logging(obj["settings"].logging, quiet=True)
        loaded: Settings = obj["settings"]
        language.choose(ctx, default_locale(loaded.web.locale, loaded.kpi.timezone))
    settings: Settings = obj["settings"]
    return settings


def locale_of(ctx: click.Context) -> str:
    """The language of human output: `--lang`, else the store's default (decision 0038)."""
    said = language.chosen(ctx)
    if said is None:
        settings_of(ctx)
        said = language.chosen(ctx) or language.FALLBACK
    return said


def store_options(settings: Settings) -> StoreOptions:
    """The store's options taken from the settings."""
    telephony = TELEPHONY.settings_of(settings)
    return StoreOptions(
        region=settings.store.default_region,
        unknown_counterparty=settings.store.unknown_counterparty,
        timezone=settings.kpi.timezone,
        callbacks=CallbackPolicy(
            due=timedelta(minutes=telephony.callback_due_minutes),
            window=timedelta(hours=telephony.callback_window_hours),
        ),
        dialogs=DialogPolicy(
            queue=settings.dialogs.queue,
            reply_within=timedelta(minutes=settings.dialogs.reply_within_minutes),
        ),
        writer=WriterOptions(
            batch_size=settings.store.batch_size,
            window_ms=settings.store.batch_window_ms,
            queue_size=settings.store.queue_size,
        ),
    )


async def open_store_from(settings: Settings, locale: str | None = None) -> ActivityStore:
    """Open and migrate the store the settings point at; say so (in `locale`, else the
    store's language) when that creates it.

    A new SQLite file is named on stderr with the config it came from, so a command
    run where no config is found never quietly works on an empty store of its own.
    """
    file = sqlite_file(settings.store_url)
    new = file is not None and not file.exists()
    store = await ActivityStore.open(settings.store_url, store_options(settings))
    if new and file is not None:
        lang = locale or default_locale(settings.web.locale, settings.kpi.timezone)
        origin = (
            i18n.text(lang, "cli_first.origin_config", path=settings.source_path)
            if settings.source_path is not None
            else i18n.text(lang, "cli_first.origin_none", file=DEFAULT_CONFIG_FILE, cwd=Path.cwd(), env=CONFIG_ENV)
        )
        click.echo(i18n.text(lang, "cli_first.created", file=file.absolute(), origin=origin), err=True)
    return store


async def send_once(
    settings: Settings, build: Callable[[Sink], Sender], message: OutgoingMessage
) -> SendResult:
    """Send one message with a sender `build` makes over a writer of the configured store,
    so its touch and status are recorded as the running hub would; close both after."""
    store = await open_store_from(settings)
    try:
        async with store.writer() as writer:
            sender = build(writer)
            try:
                return await sender.send(message)
            finally:
                await sender.close()
    finally:
        await store.close()


@asynccontextmanager
async def open_store(ctx: click.Context) -> AsyncIterator[ActivityStore]:
    """The store for a command, closed when the command ends."""
    store = await open_store_from(settings_of(ctx), locale_of(ctx))
    try:
        yield store
    finally:
        await store.close()


def run(coro: Awaitable[T]) -> T:
    """Run a command's coroutine to completion."""

    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return str(value)


def emit_json(data: Any) -> None:
    """Print `data` as JSON (UTF-8, no ASCII escaping)."""
    click.echo(json.dumps(data, default=_default, ensure_ascii=False, indent=2))


def table(
    rows: Iterable[dict[str, Any]],
    columns: list[str],
    *,
    titles: list[str] | None = None,
    empty: str = "(none)",
) -> None:
    """Print rows as an aligned text table; `titles` head the columns (default: their keys)."""
    rows = list(rows)
    heads = titles or columns
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(heads)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(heads, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if not rows:
        click.echo(empty)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The `--json` flag every list command takes."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


#: Where a group's `--token` is kept in the click context object.
_TOKEN_KEY = "acting_token"


def token_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The `--token` option of a command group whose commands may act as an API user.

    The command line acts as the local administrator by default (whoever can open the
    database may read it anyway); with a token it goes through the same rules as the API.
    """
    return click.option(
        "--token",
        default=None,
        metavar="TOKEN",
        expose_value=False,
        callback=_keep_token,
        help="Act as the API user of this bearer token (default: the local administrator).",
    )(func)


def _keep_token(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.ensure_object(dict)[_TOKEN_KEY] = value


async def acting_principal(ctx: click.Context, store: ActivityStore) -> Principal:
    """Whoever runs the command: the local administrator, or the group's `--token` user."""
    obj = ctx.find_object(dict)
    token: str | None = None if obj is None else obj.get(_TOKEN_KEY)
    if token is None:
        return ADMIN
    who = await store.tokens.authenticate(token)
    if who is None:
        raise Unauthenticated("the --token is unknown or revoked")
    return who


class Progress:
    """A progress bar on stderr when it is a terminal, a line every few seconds otherwise."""

    def __init__(self, label: str, total: int | None, *, done: str = "done") -> None:
        self.label = label
        self.total = total
        self.done_word = done
        self.done = 0
        self._tty = sys.stderr.isatty()
        self._bar: Any = None
        self._last_report = 0.0

    def __enter__(self) -> Progress:
        if self._tty and self.total:
            self._bar = click.progressbar(length=self.total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        import time

        now = time.monotonic()
        if now - self._last_report >= 2.0:
            self._last_report = now
            total = f"/{self.total}" if self.total else ""
            click.echo(f"{self.label}: {self.done}{total}", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        else:
            total = f"/{self.total}" if self.total else ""
            click.echo(f"{self.label}: {self.done}{total} {self.done_word}", err=True)


class AsciiInt(click.ParamType[int, Any]):
    """A whole number typed in ASCII digits within bounds (``¹``, ``1_0``, 5,000 digits refused)."""

    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int = MAX_INT64, *, signed: bool = False) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.signed = signed

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number: int | None = value if self.minimum <= value <= self.maximum else None
        else:
            number = ascii_int(
                str(value), minimum=self.minimum, maximum=self.maximum, signed=self.signed
            )
        if number is None:
            shown = str(value)
            if len(shown) > MAX_SHOWN_VALUE:
                shown = shown[:MAX_SHOWN_VALUE] + "…"
            if self.maximum < MAX_INT64:
                self.fail(
                    f"{shown!r} is not a whole number from {self.minimum} to {self.maximum}",
                    param,
                    ctx,
                )
            if self.minimum > -MAX_INT64:
                self.fail(f"{shown!r} is not a whole number of at least {self.minimum}", param, ctx)
            self.fail(f"{shown!r} is not a whole number", param, ctx)
        return number


#: Ids of contacts, activities and employees typed on the command line.
ID = AsciiInt(minimum=1)
#: Characters of a refused value quoted back in an error.
MAX_SHOWN_VALUE = 40


def utf8_text(data: bytes, what: str) -> str:
    """`data` as UTF-8 text (a BOM is dropped); anything else is a one-line refusal."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"not UTF-8 text (byte {exc.start})", param_hint=what) from exc
    if "\x00" in text:
        raise click.BadParameter("holds NUL characters: not a text file", param_hint=what)
    return text


def parse_when(text: str | None, timezone: str, option: str) -> datetime | None:
    """An ISO date or date-time from the command line, as aware UTC. Without an offset it is
    the company's clock (`timezone`, the [kpi] one), as a user reads it: "10:00" in Moscow
    is 07:00 UTC, not 10:00 UTC; a date alone is its local midnight. A refusal names
    `option` (``--due``)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(timezone))
        return value.astimezone(UTC)
    except ValueError as exc:
        shown = text[:MAX_SHOWN_VALUE]
        raise click.BadParameter(f"{shown!r} is not an ISO date or date-time", param_hint=f"'{option}'") from exc
    except OverflowError as exc:  # 9999-12-31T23:59-14:00 is past the calendar in UTC
        raise click.BadParameter(
            f"{text!r} is out of the calendar's range in UTC", param_hint=f"'{option}'"
        ) from exc


logger = logging.getLogger(__name__)
