"""The hub in Russian and English: one catalogue, Babel for plurals, numbers and dates.

See decision 0038. Modules: `catalogue` (messages by key and locale), `locale` (a store's
default language), `formatting` (numbers, dates, durations, counted nouns), `labels`
(names of codes for pages, the CLI and exports), `export_labels` (the words of XLSX
and CSV exports), `api_errors` (the API's error messages, decision 0060).
"""

from hub.i18n.api_errors import (
    error_message,
    kind_message,
    said_in,
    template_problem,
    validation_problem,
)
from hub.i18n.catalogue import LOCALES, messages, normalise, plural_category, text
from hub.i18n.export_labels import ExportLabels, csv_delimiter, export_labels
from hub.i18n.formatting import counted, duration, number, when
from hub.i18n.labels import (
    channel_name,
    colour_name,
    column,
    direction_name,
    indicator_name,
    status_name,
    trend_name,
    unit_name,
)
from hub.i18n.locale import accepted_locale, default_locale, locale_of_timezone

__all__ = [
    "LOCALES",
    "ExportLabels",
    "accepted_locale",
    "channel_name",
    "colour_name",
    "column",
    "counted",
    "csv_delimiter",
    "default_locale",
    "direction_name",
    "duration",
    "error_message",
    "export_labels",
    "indicator_name",
    "kind_message",
    "locale_of_timezone",
    "messages",
    "normalise",
    "number",
    "plural_category",
    "said_in",
    "status_name",
    "template_problem",
    "text",
    "trend_name",
    "unit_name",
    "validation_problem",
    "when",
]
