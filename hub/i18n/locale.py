"""Which language a store speaks by default: `[web] locale`, else its `[kpi] timezone`.

A company whose time zone lies in a Russian-speaking country gets Russian; the mapping of
zones to countries is CLDR's (through Babel), not a list of our own.
"""

from __future__ import annotations

from typing import Final

from babel.core import get_global

from hub.i18n.catalogue import FALLBACK, normalise

#: Countries (ISO 3166) whose companies get Russian by default.
RUSSIAN_TERRITORIES: Final = frozenset({"RU", "BY"})


def locale_of_timezone(timezone: str) -> str:
    """"ru" for a zone of a Russian-speaking country (Europe/Moscow, Asia/Yekaterinburg, ...)."""
    territory = get_global("zone_territories").get(timezone)
    return "ru" if territory in RUSSIAN_TERRITORIES else FALLBACK


def default_locale(configured: str | None, timezone: str) -> str:
    """`[web] locale` when set, else the language of the company's time zone."""
    if configured:
        return normalise(configured)
    return locale_of_timezone(timezone)
