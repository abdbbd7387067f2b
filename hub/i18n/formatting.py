"""Numbers, dates, durations and counted nouns for people, by locale (Babel's CLDR data)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.units import format_unit

from hub.i18n.catalogue import normalise, text


def number(locale: str, value: float | None, decimals: int = 0) -> str:
    """12 345,6 in Russian, 12,345.6 in English; "—" for none."""
    if value is None:
        return "—"
    digits = 0 if float(value).is_integer() else max(decimals, 1)
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=normalise(locale))


def when(locale: str, moment: datetime | str | None, tz: str | None = None) -> str:
    """A timestamp as people of `locale` write it (in `tz` when given); "—" for none."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    zone = ZoneInfo(tz) if tz else None
    return format_datetime(moment, "medium", tzinfo=zone, locale=normalise(locale))


def duration(locale: str, seconds: float | None) -> str:
    """"30 мин" / "30 min"; "1 ч 5 мин" / "1 hr, 5 min"; under a minute in seconds."""
    if seconds is None:
        return ""
    total = round(seconds)
    lang = normalise(locale)
    if total < 60:
        return format_unit(total, "duration-second", length="short", locale=lang)
    hours, minutes = divmod(total // 60, 60)
    parts = []
    if hours:
        parts.append(format_unit(hours, "duration-hour", length="short", locale=lang))
    if minutes or not hours:
        parts.append(format_unit(minutes, "duration-minute", length="short", locale=lang))
    return " ".join(parts)


def counted(locale: str, key: str, n: int) -> str:
    """«1 звонок, 2 звонка, 5 звонков»: the plural message `count.<key>` for `n`."""
    return text(locale, f"count.{key}", n=n).replace(str(n), number(locale, n), 1)
