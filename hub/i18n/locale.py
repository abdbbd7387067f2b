"""Which language a store speaks by default: `[web] locale`, else its `[kpi] timezone`.

A company whose time zone lies in a Russian-speaking country gets Russian; the mapping of
zones to countries is CLDR's (through Babel), not a list of our own.
"""

from __future__ import annotations

from typing import Final

from babel.core import get_global

from hub.i18n.catalogue import FALLBACK, LOCALES, normalise

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


def accepted_locale(header: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header the hub speaks, by its q-value
    ("ru-RU,ru;q=0.9,en;q=0.8" → "ru"); None when it names none of ours (or is absent)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        short = tag.strip().replace("_", "-").split("-")[0].lower()
        if quality > 0 and short in LOCALES:
            ranked.append((-quality, position, short))
    return min(ranked)[2] if ranked else None
