"""The indicator catalogue: declarative definitions loaded from TOML, validated once.

An indicator says which records it counts (a filter on activity fields, or the
employee's contacts), how it aggregates them, and how it is judged (lower is better,
a default plan such as a tolerated number). A new indicator is a TOML table, not code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from hub.activity.rollups import client_state
from hub.errors import UnknownReference, ValidationError
from hub.model import Channel, Direction, Status

BUILTIN_FILE = "indicators.toml"


class Aggregate(StrEnum):
    """How an indicator turns its records into one number."""

    COUNT = "count"  # records
    DISTINCT_CONTACTS = "distinct_contacts"  # different contacts among the records
    PER_CONTACT = "per_contact"  # records / distinct contacts (touches per client)
    SUM = "sum"  # sum of a numeric field (÷ divide_by)
    AVERAGE = "average"  # mean of a numeric field over the records (÷ divide_by)
    RATIO = "ratio"  # % of the records that also match `numerator`
    FILLED_SHARE = "filled_share"  # % of required contact fields filled (contacts)
    FORGOTTEN = "forgotten"  # the employee's contacts with no touch for `days` (contacts)


class Source(StrEnum):
    """What an indicator's records are."""

    ACTIVITIES = "activities"
    CONTACTS = "contacts"


class DateField(StrEnum):
    """Which time of an activity places it in a period."""

    OCCURRED_AT = "occurred_at"
    COMPLETED_AT = "completed_at"
    DUE_AT = "due_at"


#: Filter keys with the value set each accepts (None = boolean).
_ENUM_KEYS: dict[str, frozenset[str]] = {
    "channel": frozenset(Channel),
    "direction": frozenset(Direction),
    "status": frozenset(Status),
}
#: Boolean filter keys the daily roll-up can answer.
ROLLUP_BOOL_KEYS = frozenset({"is_client", "has_result", "late", "touch", "overdue"})
#: Keys only the activities table can answer (the fact is then computed from raw rows).
#: ``campaign``: the activity is a message of a campaign (``meta.campaign_id``); ``campaign =
#: false`` keeps campaign mail out of an employee's own letters.
RAW_KEYS = frozenset({"source", "not_called_back", "campaign"})
FILTER_KEYS = frozenset(_ENUM_KEYS) | ROLLUP_BOOL_KEYS | RAW_KEYS

NUMERIC_FIELDS = frozenset({"duration_s", "talk_s"})
#: Contact fields a client-base quality indicator may require.
CONTACT_COLUMNS = frozenset(client_state.FIELD_COLUMNS)
CONTACT_IDENTITIES = frozenset(client_state.FIELD_IDENTITIES)

_INDICATOR_KEYS = frozenset(
    {
        "code",
        "title",
        "group",
        "unit",
        "source",
        "aggregate",
        "date",
        "where",
        "numerator",
        "field",
        "divide_by",
        "lower_is_better",
        "default_plan",
        "fields",
        "days",
        "description",
        "decimals",
    }
)


@dataclass(frozen=True, slots=True)
class Filter:
    """Conditions on activity fields, all of which must hold; values are sets or booleans."""

    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    flags: Mapping[str, bool] = field(default_factory=dict)
    sources: frozenset[str] | None = None

    @property
    def raw_only(self) -> bool:
        """True when only the activities table can answer this filter (not the roll-up)."""
        return self.sources is not None or bool(self.flags.keys() & RAW_KEYS)

    def merged(self, other: Filter) -> Filter:
        """Both filters at once (used for a ratio's numerator)."""
        enums = dict(self.enums)
        for key, values in other.enums.items():
            enums[key] = enums[key] & values if key in enums else values
        sources = (
            other.sources
            if self.sources is None
            else (self.sources if other.sources is None else self.sources & other.sources)
        )
        return Filter(enums, {**self.flags, **other.flags}, sources)


def contact_field_kind(name: str) -> str:
    """ "column", "identity" or "custom" for a required contact field; unknown names raise."""
    if name in CONTACT_COLUMNS:
        return "column"
    if name in CONTACT_IDENTITIES:
        return "identity"
    if name.startswith("custom.") and len(name) > len("custom."):
        return "custom"
    known = sorted(CONTACT_COLUMNS | CONTACT_IDENTITIES)
    raise ValidationError(
        f"unknown contact field {name!r} (known: {', '.join(known)}, or custom.NAME)", field=name
    )


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator definition, validated."""

    code: str
    title: str
    aggregate: Aggregate
    group: str = "communications"
    unit: str = "pcs"
    source: Source = Source.ACTIVITIES
    date: DateField = DateField.OCCURRED_AT
    where: Filter = field(default_factory=Filter)
    numerator: Filter | None = None
    field: str | None = None
    divide_by: float = 1.0
    lower_is_better: bool = False
    default_plan: float | None = None
    fields: tuple[str, ...] = ()
    days: int = 30
    decimals: int = 0
    description: str = ""

    @property
    def additive(self) -> bool:
        """Whether facts and plans add up over days (so a per-day norm makes sense)."""
        return self.aggregate in (Aggregate.COUNT, Aggregate.SUM, Aggregate.DISTINCT_CONTACTS)

    @property
    def counts(self) -> bool:
        """Whether the fact is a number of things (records, clients): a whole number."""
        return self.aggregate in (
            Aggregate.COUNT,
            Aggregate.DISTINCT_CONTACTS,
            Aggregate.FORGOTTEN,
        )

    def fact_value(self, value: float) -> int | float:
        """A stored fact as this indicator states it: a count as a whole number."""
        return round(value) if self.counts else value

    @property
    def snapshot(self) -> bool:
        """Whether the fact is a state as of the period's end rather than a sum over it."""
        return self.source is Source.CONTACTS

    @property
    def counted(self) -> Filter:
        """The filter of the records the drill-down lists (a ratio lists its numerator)."""
        if self.aggregate is Aggregate.RATIO and self.numerator is not None:
            return self.where.merged(self.numerator)
        return self.where

    def as_dict(self) -> dict[str, Any]:
        """The definition as plain data (for the API and `kpi indicators`)."""
        return {
            "code": self.code,
            "title": self.title,
            "group": self.group,
            "unit": self.unit,
            "aggregate": self.aggregate.value,
            "source": self.source.value,
            "lower_is_better": self.lower_is_better,
            "default_plan": self.default_plan,
            "snapshot": self.snapshot,
            "description": self.description,
        }


def _values(key: str, raw: Any, where: str) -> frozenset[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise ValidationError(f"{where}: {key} must be a string or a list of strings", field=key)
    allowed = _ENUM_KEYS.get(key)
    if allowed is not None:
        bad = sorted(set(items) - allowed)
        if bad:
            raise ValidationError(
                f"{where}: unknown {key} {', '.join(bad)} (known: {', '.join(sorted(allowed))})",
                field=key,
            )
    return frozenset(items)


def parse_filter(raw: Any, where: str) -> Filter:
    """Validate a `where` table; an unknown field or value is a `ValidationError` naming it."""
    if raw is None:
        return Filter()
    if not isinstance(raw, dict):
        raise ValidationError(f"{where} must be a table", field="where")
    enums: dict[str, frozenset[str]] = {}
    flags: dict[str, bool] = {}
    sources: frozenset[str] | None = None
    for key, value in raw.items():
        if key not in FILTER_KEYS:
            raise ValidationError(
                f"{where}: unknown field {key!r} (known: {', '.join(sorted(FILTER_KEYS))})",
                field=key,
            )
        if key in _ENUM_KEYS:
            enums[key] = _values(key, value, where)
        elif key == "source":
            sources = _values(key, value, where)
        else:
            if not isinstance(value, bool):
                raise ValidationError(f"{where}: {key} must be true or false", field=key)
            flags[key] = value
    return Filter(enums, flags, sources)


def parse_indicator(
    raw: Mapping[str, Any], *, required_fields: Iterable[str], forgotten_days: int
) -> Indicator:
    """Build one `Indicator` from its TOML table, refusing anything unknown or inconsistent."""
    code = raw.get("code")
    if not isinstance(code, str) or not code.isidentifier():
        raise ValidationError(f"indicator code {code!r} must be an identifier", field="code")
    where = f"indicator {code}"
    unknown = sorted(set(raw) - _INDICATOR_KEYS)
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) {', '.join(unknown)}", field=unknown[0])

    def choice(key: str, enum: type[StrEnum], default: str) -> Any:
        value = raw.get(key, default)
        try:
            return enum(value)
        except ValueError:
            known = ", ".join(m.value for m in enum)
            raise ValidationError(
                f"{where}: {key} {value!r} is not one of {known}", field=key
            ) from None

    aggregate: Aggregate = choice("aggregate", Aggregate, "count")
    source: Source = choice(
        "source",
        Source,
        "contacts" if aggregate in (Aggregate.FILLED_SHARE, Aggregate.FORGOTTEN) else "activities",
    )
    date_field: DateField = choice("date", DateField, "occurred_at")
    if (source is Source.CONTACTS) != (aggregate in (Aggregate.FILLED_SHARE, Aggregate.FORGOTTEN)):
        raise ValidationError(
            f"{where}: aggregate {aggregate} does not apply to {source}", field="aggregate"
        )
    flt = parse_filter(raw.get("where"), where)
    if source is Source.CONTACTS and (flt.enums or flt.flags or flt.sources):
        raise ValidationError(f"{where}: contact indicators take no activity filter", field="where")
    if flt.flags.get("overdue") is not None and date_field is not DateField.DUE_AT:
        raise ValidationError(f'{where}: overdue needs date = "due_at"', field="date")
    numerator = None
    if aggregate is Aggregate.RATIO:
        if "numerator" not in raw:
            raise ValidationError(f"{where}: a ratio needs a numerator filter", field="numerator")
        numerator = parse_filter(raw["numerator"], f"{where} numerator")
    elif "numerator" in raw:
        raise ValidationError(
            f'{where}: numerator only applies to aggregate = "ratio"', field="numerator"
        )
    field_name = raw.get("field")
    if aggregate in (Aggregate.SUM, Aggregate.AVERAGE):
        if field_name not in NUMERIC_FIELDS:
            raise ValidationError(
                f"{where}: field {field_name!r} is not one of {', '.join(sorted(NUMERIC_FIELDS))}",
                field="field",
            )
    elif field_name is not None:
        raise ValidationError(f"{where}: field only applies to sum and average", field="field")
    # Every client-base drill-down says which required fields a client lacks, so both
    # contact indicators know the fields: filled_share is computed from them too.
    fields = tuple(raw.get("fields", required_fields)) if source is Source.CONTACTS else ()
    for name in fields:
        try:
            contact_field_kind(name)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}", field=name) from None
    if aggregate is Aggregate.FILLED_SHARE and not fields:
        raise ValidationError(f"{where}: no required contact fields", field="fields")
    divide_by = raw.get("divide_by", 1.0)
    days = raw.get("days", forgotten_days)
    default_plan = raw.get("default_plan")
    if not isinstance(divide_by, int | float) or divide_by <= 0:
        raise ValidationError(f"{where}: divide_by must be a positive number", field="divide_by")
    if not isinstance(days, int) or days < 1:
        raise ValidationError(f"{where}: days must be a positive integer", field="days")
    if default_plan is not None and (not isinstance(default_plan, int | float) or default_plan < 0):
        raise ValidationError(f"{where}: default_plan must be a number ≥ 0", field="default_plan")
    return Indicator(
        code=code,
        title=str(raw.get("title", code)),
        aggregate=aggregate,
        group=str(raw.get("group", "communications")),
        unit=str(
            raw.get(
                "unit", "%" if aggregate in (Aggregate.RATIO, Aggregate.FILLED_SHARE) else "pcs"
            )
        ),
        source=source,
        date=date_field,
        where=flt,
        numerator=numerator,
        field=field_name,
        divide_by=float(divide_by),
        lower_is_better=bool(raw.get("lower_is_better", False)),
        default_plan=None if default_plan is None else float(default_plan),
        fields=fields,
        days=days,
        decimals=int(
            raw.get(
                "decimals",
                0
                if aggregate in (Aggregate.COUNT, Aggregate.DISTINCT_CONTACTS, Aggregate.FORGOTTEN)
                else 1,
            )
        ),
        description=str(raw.get("description", "")),
    )


class Catalogue(Mapping[str, Indicator]):
    """Indicators by code, in definition order."""

    def __init__(self, indicators: Iterable[Indicator]) -> None:
        self._items: dict[str, Indicator] = {}
        for indicator in indicators:
            self._items[indicator.code] = indicator

    def __getitem__(self, code: str) -> Indicator:
        return self._items[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get_or_raise(self, code: str) -> Indicator:
        """The indicator `code`, or `UnknownReference` listing the known ones."""
        try:
            return self._items[code]
        except KeyError:
            raise UnknownReference(
                f"unknown indicator {code!r} (known: {', '.join(self._items)})", field="indicator"
            ) from None


def parse_catalogue_text(
    text: str, *, origin: str, required_fields: Iterable[str], forgotten_days: int
) -> list[Indicator]:
    """Parse a TOML document of ``[[indicator]]`` tables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{origin}: {exc}", field="indicators_file") from exc
    unknown = sorted(set(data) - {"indicator"})
    if unknown:
        raise ValidationError(
            f"{origin}: unknown top-level key(s) {', '.join(unknown)}", field=unknown[0]
        )
    tables = data.get("indicator", [])
    if not isinstance(tables, list):
        raise ValidationError(f"{origin}: use [[indicator]] tables", field="indicator")
    result: list[Indicator] = []
    for raw in tables:
        try:
            result.append(
                parse_indicator(raw, required_fields=required_fields, forgotten_days=forgotten_days)
            )
        except ValidationError as exc:
            raise ValidationError(f"{origin}: {exc}", field=exc.field) from None
    return result


def load_catalogue(
    extra_file: str | Path | None = None,
    *,
    required_fields: Iterable[str] = ("email", "phone", "city"),
    forgotten_days: int = 30,
) -> Catalogue:
    """The shipped catalogue plus `extra_file` (whose indicators add to or replace shipped ones)."""
    required = list(required_fields)
    for name in required:
        contact_field_kind(name)
    text = resources.files("kpi").joinpath(BUILTIN_FILE).read_text(encoding="utf-8")
    indicators = parse_catalogue_text(
        text, origin=BUILTIN_FILE, required_fields=required, forgotten_days=forgotten_days
    )
    if extra_file is not None:
        path = Path(extra_file)
        if not path.exists():
            raise ValidationError(f"indicators file {path} does not exist", field="indicators_file")
        try:
            extra = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{path}: not UTF-8 text", field="indicators_file") from exc
        indicators += parse_catalogue_text(
            extra,
            origin=str(path),
            required_fields=required,
            forgotten_days=forgotten_days,
        )
    return Catalogue(indicators)
