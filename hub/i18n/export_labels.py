"""The words of a KPI export (XLSX, CSV) in one locale: what `kpi.export.Labels` asks for.

Built on the catalogue (`[export]`, `indicator.*`, `trend_word.*`), so a file a manager
sends on calls an indicator, a colour and a trend as the dashboard does. Typed
structurally (a table is anything with a `period`), so `hub.i18n` needs nothing of `kpi`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hub.i18n.catalogue import normalise, text
from hub.i18n.labels import indicator_name, trend_name


class _Periodic(Protocol):
    @property
    def period(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ExportLabels:
    """Column headers, indicator names, statuses, trends and sheet titles in `locale`."""

    locale: str

    def header(self, key: str) -> str:
        return text(self.locale, f"export.{key}", key)

    def indicator(self, code: str, title: str) -> str:
        return indicator_name(code, self.locale, title)

    def status(self, colour: str | None) -> str:
        return text(self.locale, f"export.status_{colour or 'none'}", colour or "")

    def trend(self, trend: str | None) -> str:
        return trend_name(trend, self.locale)

    def sheet(self, table: _Periodic) -> str:
        return text(self.locale, "export.sheet", period=table.period)

    def team(self, head: str | None) -> str:
        return text(self.locale, "export.no_head") if head is None else head


def export_labels(locale: str) -> ExportLabels:
    """The export words of `locale` ("ru-RU" → Russian; unknown → English)."""
    return ExportLabels(normalise(locale))


def csv_delimiter(locale: str) -> str:
    """The delimiter Excel expects in `locale`: ";" where the decimal mark is a comma."""
    return ";" if normalise(locale) == "ru" else ","
