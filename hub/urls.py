"""URLs as they may be shown: a password in a URL never reaches a log or a message."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

#: A Telegram bot's token, part of every Bot API URL: ``…/bot123456:AA…/getUpdates``.
_BOT_TOKEN = re.compile(r"(/(?:file/)?bot)\d+:[\w-]+")


def mask_url(url: str) -> str:
    """Return `url` with any password replaced by ``***``, for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def mask_bot_token(text: str) -> str:
    """`text` with any Telegram bot token in a Bot API URL in it masked: some HTTP errors
    quote the URL, and these messages reach health and the log."""
    return _BOT_TOKEN.sub(r"\1***", text)


def sqlite_path(url: str) -> str | None:
    """The database path an SQLite store URL names, as written (``sqlite:///relative.db``,
    ``sqlite:////absolute.db``, any ``+driver``, a query string left out); None for another
    database, an in-memory one, a ``file:`` URI, or text that is no such URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() != "sqlite":
        return None
    path = rest.partition("?")[0]
    if not path.startswith("/"):  # sqlite://host/… names no file
        return None
    path = unquote(path[1:])  # SQLAlchemy writes ":memory:" as "%3Amemory%3A", a space as %20
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite store URL names (None for PostgreSQL, memory or a bad URL)."""
    path = sqlite_path(url)
    return None if path is None else Path(path).expanduser()
