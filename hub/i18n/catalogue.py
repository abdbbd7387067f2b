"""The message catalogue (messages.toml) read once, and words looked up in it by locale.

One file serves the dashboard (as JSON), the human CLI output and the export labels, so
a status or an indicator is called the same everywhere. Plural entries are chosen by
CLDR plural category through Babel; the browser picks the same category with
`Intl.PluralRules`, so the rules are nowhere written by hand.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel import Locale

from hub.errors import ConfigError

CATALOGUE_FILE: Final = Path(__file__).with_name("messages.toml")
#: Locales the hub speaks; the first is the fallback for a word a locale lacks.
LOCALES: Final = ("en", "ru")
FALLBACK: Final = "en"

#: A message: plain text, or one text per plural category ("one", "few", "many", "other").
Message = str | dict[str, str]


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Message]]:
    """{"status.no_answer": {"en": ..., "ru": ...}} from nested TOML tables."""
    flat: dict[str, dict[str, Message]] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if not isinstance(value, dict):
            raise ConfigError(f"{CATALOGUE_FILE.name}: {name} is not a table of locales")
        if FALLBACK in value:
            for locale, text in value.items():
                if locale not in LOCALES:
                    raise ConfigError(f"{CATALOGUE_FILE.name}: {name} has unknown locale {locale}")
                if not isinstance(text, str | dict):
                    raise ConfigError(f"{CATALOGUE_FILE.name}: {name}.{locale} is not text")
            flat[name] = dict(value)
        else:
            flat.update(_flatten(value, f"{name}."))
    return flat


@cache
def entries() -> dict[str, dict[str, Message]]:
    """Every message of the catalogue by key, each with its texts by locale."""
    with CATALOGUE_FILE.open("rb") as handle:
        return _flatten(tomllib.load(handle))


def normalise(locale: str | None) -> str:
    """A locale the hub speaks: "ru-RU" → "ru"; anything unknown → the fallback."""
    short = (locale or "").replace("_", "-").split("-")[0].lower()
    return short if short in LOCALES else FALLBACK


@cache
def messages(locale: str) -> dict[str, Message]:
    """All messages of `locale` (the fallback's text where it has none), as the browser gets them."""
    lang = normalise(locale)
    return {key: texts.get(lang, texts[FALLBACK]) for key, texts in entries().items()}


def has(key: str) -> bool:
    return key in entries()


def plural_category(locale: str, n: float) -> str:
    """The CLDR plural category of `n` in `locale` (Babel's rules)."""
    return str(Locale.parse(normalise(locale)).plural_form(n))


def text(locale: str, key: str, default: str | None = None, /, **values: object) -> str:
    """The message `key` in `locale` with ``{name}`` placeholders filled; `n` picks a plural.

    A key the catalogue lacks gives `default` (or the key itself), so a new code shows as
    itself rather than failing a page or a report.
    """
    found = messages(locale).get(key)
    if found is None:
        return (default if default is not None else key).format_map(_Values(values))
    if isinstance(found, dict):
        n = values.get("n", 0)
        count = n if isinstance(n, int | float) else 0
        chosen = found.get(plural_category(locale, count)) or found["other"]
        return chosen.format_map(_Values(values))
    return found.format_map(_Values(values))


class _Values(dict[str, object]):
    """Placeholder values; an unknown placeholder stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
