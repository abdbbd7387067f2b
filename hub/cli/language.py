"""The language a command speaks, kept on its click context (decision 0073).

It is chosen once before the command runs — `--lang`, else the store's (decision 0038),
written by `hub.cli.common.settings_of` — and read by its output and its error lines alike.
This module imports nothing heavy: the error printer of `touchhub` reads it.
"""

from __future__ import annotations

import click

#: `ctx.meta` key of the command's language ("ru" | "en").
LANG = "touchhub.lang"
#: The language of an error line when none was chosen (the settings could not be read).
FALLBACK = "en"


def choose(ctx: click.Context, locale: str) -> None:
    """Say the command's language, unless one was said already (`--lang` comes first)."""
    ctx.meta.setdefault(LANG, locale)


def chosen(ctx: click.Context) -> str | None:
    """The command's language, None while nothing chose it."""
    said = ctx.meta.get(LANG)
    return str(said) if said is not None else None
