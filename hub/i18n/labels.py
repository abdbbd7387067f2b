"""Names of codes for people: indicators, statuses, channels, column headers (for exports too).

The API keeps its English codes; reports, the CLI and the dashboard show these names.
"""

from __future__ import annotations

from hub.i18n.catalogue import text


def indicator_name(code: str, locale: str, fallback: str | None = None) -> str:
    """«Пропущенные звонки, по которым не перезвонили» for ``missed_not_called_back``; an
    indicator of a company's own file falls back to its title (or code)."""
    return text(locale, f"indicator.{code}", fallback or code)


def status_name(code: str, locale: str) -> str:
    """«Нет ответа» for ``no_answer``."""
    return text(locale, f"status.{code}", code)


def channel_name(code: str, locale: str) -> str:
    return text(locale, f"channel.{code}", code)


def direction_name(code: str, locale: str) -> str:
    return text(locale, f"direction.{code}", code)


def trend_name(code: str | None, locale: str) -> str:
    """``better`` → «лучше»; empty for no comparison."""
    return "" if code is None else text(locale, f"trend_word.{code}", code)


def colour_name(code: str | None, locale: str) -> str:
    """What a colour means (``red`` → «ниже 50%»); empty for no colour."""
    return "" if code is None else text(locale, f"colour.{code}", code)


def unit_name(code: str | None, locale: str, n: float = 5) -> str:
    """A unit as written after the number `n` («1 касание», «5 касаний»)."""
    return "" if not code else text(locale, f"unit.{code}", code, n=n)


def column(key: str, locale: str) -> str:
    """A table or export column header: employee, indicator, group, period, plan, fact,
    percent, colour, trend, previous, unit, records."""
    return text(locale, f"column.{key}", key)
