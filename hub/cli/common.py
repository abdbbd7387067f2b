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
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import click

from hub.activity import ActivityStore, CallbackPolicy, StoreOptions, WriterOptions
from hub.config import Settings, load_settings
from hub.logging_setup import setup_logging
from hub.telephony.plugin import PLUGIN as TELEPHONY

T = TypeVar("T")


def settings_of(ctx: click.Context) -> Settings:
    """Load (once per invocation) the settings named by the global options."""
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings(obj.get("config_file"), db_url=obj.get("db_url"))
        setup_logging(obj["settings"].logging, quiet=True)
    settings: Settings = obj["settings"]
    return settings


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
        writer=WriterOptions(
            batch_size=settings.store.batch_size,
            window_ms=settings.store.batch_window_ms,
            queue_size=settings.store.queue_size,
        ),
    )


async def open_store_from(settings: Settings) -> ActivityStore:
    """Open and migrate the store the settings point at."""
    return await ActivityStore.open(settings.store_url, store_options(settings))


@asynccontextmanager
async def open_store(ctx: click.Context) -> AsyncIterator[ActivityStore]:
    """The store for a command, closed when the command ends."""
    store = await open_store_from(settings_of(ctx))
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


def table(rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as an aligned text table."""
    rows = list(rows)
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if not rows:
        click.echo("(none)")


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The `--json` flag every list command takes."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


class Progress:
    """A progress bar on stderr when it is a terminal, a line every few seconds otherwise."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
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
            click.echo(f"{self.label}: {self.done}{total} done", err=True)


def parse_when(text: str | None) -> datetime | None:
    """Parse an ISO date or datetime from the command line as aware UTC (naive = UTC)."""
    if text is None:
        return None
    from datetime import UTC

    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO date or date-time") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


logger = logging.getLogger(__name__)
