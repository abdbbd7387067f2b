"""The segment filter language: JSON in, typed frozen nodes out, refused with a JSON path.

Grammar (a node is one JSON object)::

    node      := {"all": [node, …]}          every one holds (an empty list: everyone)
               | {"any": [node, …]}          at least one holds (an empty list: nobody)
               | {"not": node}
               | {"field": FIELD, "op": OP, "value": VALUE}

Fields and their operators are a whitelist (`FIELDS`); anything else is a
`ValidationError` whose `field` is the JSON path of the problem, e.g.
``all[1].any[0].op``. Merged contacts are never members, whatever the filter says.

Meaning of the operators (the SQL compiler and the tests' Python evaluator agree):

- text fields: ``eq``/``ne`` compare exactly (case matters; ``ne`` holds for an empty
  field), ``in``/``not_in`` take a list, ``contains``/``starts_with`` a piece of text,
  ``is_empty`` (value true/false) means no value or "".
- ``tags``: ``eq`` has the tag, ``ne`` has not, ``in`` has any of, ``not_in`` has none
  of, ``is_empty`` has no tags at all.
- ``custom.KEY``: the custom field as text: ``eq``, ``ne``, ``contains``, ``is_empty``.
- ``owner``: ``eq``/``ne``/``in``/``not_in`` employee ids, ``in_subtree`` the employee
  or anyone below them (``employees.head_id``), ``is_empty`` nobody owns the contact.
- ``created_at``: ``before`` (earlier than) and ``after`` (at or later than) an ISO date
  (midnight UTC) or an RFC 3339 time with seconds and an offset.
- ``no_touch_days``: ``gte`` N means no client touch in the last N days (none at or
  after now − N days, never touched included); ``lte`` N means at least one.
- ``touched_by``: ``between`` {"employee": id, "from": D1, "to": D2}: a touch by that
  employee with D1 ≤ time < D2 (D2 at or before D1: an empty range, nobody).
- ``has_email`` (an e-mail address not marked bouncing), ``has_mobile`` (a phone
  starting with a `MOBILE_PREFIXES` prefix), ``is_lead``, ``opted_out.email``,
  ``opted_out.sms`` (an address of the contact has a suppression not lifted): ``eq``
  true/false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from hub.errors import ValidationError


class Op(StrEnum):
    """Every operator of the language; each field allows some (`FIELDS`)."""

    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    IS_EMPTY = "is_empty"
    BEFORE = "before"
    AFTER = "after"
    GTE = "gte"
    LTE = "lte"
    IN_SUBTREE = "in_subtree"
    BETWEEN = "between"


class Kind(StrEnum):
    """What sort of value a field holds; decides how values are parsed."""

    TEXT = "text"
    TAGS = "tags"
    CUSTOM = "custom"
    EMPLOYEE = "employee"
    MOMENT = "moment"
    DAYS = "days"
    TOUCHED_BY = "touched_by"
    FLAG = "flag"


_TEXT_OPS = frozenset(
    {Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.STARTS_WITH, Op.IS_EMPTY}
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field of the language: its kind and the operators it allows."""

    kind: Kind
    ops: frozenset[Op]


#: The whitelist: field name → kind and operators. ``custom.KEY`` and ``opted_out.CHANNEL``
#: are families (see `CUSTOM_PREFIX`, `OPT_OUT_CHANNELS`).
FIELDS: Mapping[str, FieldSpec] = MappingProxyType({
    "name": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "region": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "city": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "importance": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "segment": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "position": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "organisation": FieldSpec(Kind.TEXT, _TEXT_OPS),
    "tags": FieldSpec(Kind.TAGS, frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IS_EMPTY})),
    "owner": FieldSpec(
        Kind.EMPLOYEE, frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IN_SUBTREE, Op.IS_EMPTY})
    ),
    "created_at": FieldSpec(Kind.MOMENT, frozenset({Op.BEFORE, Op.AFTER})),
    "no_touch_days": FieldSpec(Kind.DAYS, frozenset({Op.GTE, Op.LTE})),
    "touched_by": FieldSpec(Kind.TOUCHED_BY, frozenset({Op.BETWEEN})),
    "has_email": FieldSpec(Kind.FLAG, frozenset({Op.EQ})),
    "has_mobile": FieldSpec(Kind.FLAG, frozenset({Op.EQ})),
    "is_lead": FieldSpec(Kind.FLAG, frozenset({Op.EQ})),
})
CUSTOM_PREFIX = "custom."
CUSTOM_SPEC = FieldSpec(Kind.CUSTOM, frozenset({Op.EQ, Op.NE, Op.CONTAINS, Op.IS_EMPTY}))
OPT_OUT_PREFIX = "opted_out."
#: Channels whose opt-out a filter can test, and the identity kind their addresses are.
OPT_OUT_CHANNELS: Mapping[str, str] = MappingProxyType({"email": "email", "sms": "phone"})
OPT_OUT_SPEC = FieldSpec(Kind.FLAG, frozenset({Op.EQ}))
#: E.164 prefixes of mobile numbers: Russia (+7 9xx) and Kazakhstan (+7 7xx).
MOBILE_PREFIXES = ("+79", "+77")
_CUSTOM_KEY = re.compile(r"^\w{1,64}$")
#: Bounds that keep a filter (and its SQL) small.
MAX_DEPTH = 12
MAX_CONDITIONS = 200
MAX_LIST = 1000
MAX_TEXT = 300
MAX_DAYS = 36_600
#: The largest id a filter may name.
MAX_INTEGER = 2**62
#: How a moment is written: an ISO date, or an RFC 3339 time with seconds and an offset
#: (JSON Schema's "date" and "date-time" formats).
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE = re.compile(DATE_PATTERN)
_TIME = re.compile(
    r"(?P<base>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})(?P<fraction>\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


@dataclass(frozen=True, slots=True)
class Field:
    """A parsed field name: ``custom.inn`` is Field("custom", "inn")."""

    name: str
    key: str | None = None

    def __str__(self) -> str:
        return self.name if self.key is None else f"{self.name}.{self.key}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TouchedBy:
    """The value of ``touched_by``: an employee and a half-open time range."""

    employee: int
    start: datetime
    end: datetime


Value = str | tuple[str, ...] | int | tuple[int, ...] | bool | datetime | TouchedBy


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One test of one field."""

    field: Field
    kind: Kind
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class All:
    """Every item holds (no items: everyone)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one item holds (no items: nobody)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold."""

    item: Node


Node = All | AnyOf | Not | Condition


class _Parser:
    def __init__(self) -> None:
        self.conditions = 0

    def node(self, raw: Any, path: str, depth: int) -> Node:
        here = path or "filter"
        if depth > MAX_DEPTH:
            raise _error(here, f"nested deeper than {MAX_DEPTH} levels")
        if not isinstance(raw, dict):
            raise _error(here, "must be an object")
        groups = [key for key in ("all", "any", "not") if key in raw]
        if groups:
            if len(raw) != 1:
                raise _error(here, f"{groups[0]!r} must be the only key of its object")
            key = groups[0]
            inner = _join(path, key)
            if key == "not":
                return Not(self.node(raw[key], inner, depth + 1))
            items = raw[key]
            if not isinstance(items, list):
                raise _error(inner, "must be a list")
            nodes = tuple(self.node(item, f"{inner}[{i}]", depth + 1) for i, item in enumerate(items))
            return All(nodes) if key == "all" else AnyOf(nodes)
        return self.condition(raw, path)

    def condition(self, raw: dict[str, Any], path: str) -> Condition:
        extra = set(raw) - {"field", "op", "value"}
        if extra:
            raise _error(path or "filter", f"unknown keys {sorted(extra)} (use all/any/not or field/op/value)")
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _error(path or "filter", f"more than {MAX_CONDITIONS} conditions")
        name = raw.get("field")
        field_path = _join(path, "field")
        if not isinstance(name, str):
            raise _error(field_path, "must name a field")
        field, spec = _field(name, field_path)
        op_name = raw.get("op")
        op_path = _join(path, "op")
        if not isinstance(op_name, str) or op_name not in set(Op) or Op(op_name) not in spec.ops:
            allowed = ", ".join(sorted(spec.ops))
            raise _error(op_path, f"{op_name!r} is not an operator of field {field} (use {allowed})")
        op = Op(op_name)
        value_path = _join(path, "value")
        if "value" not in raw and op is not Op.IS_EMPTY:
            raise _error(value_path, "is missing")
        value = _value(spec.kind, op, raw.get("value", True), value_path)
        return Condition(field=field, kind=spec.kind, op=op, value=value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _error(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path}: {message}", field=path)


def _field(name: str, path: str) -> tuple[Field, FieldSpec]:
    if name in FIELDS:
        return Field(name), FIELDS[name]
    if name.startswith(CUSTOM_PREFIX):
        key = name.removeprefix(CUSTOM_PREFIX)
        if not _CUSTOM_KEY.match(key):
            raise _error(path, f"custom field key {key!r} must be 1–64 letters, digits or _")
        return Field("custom", key), CUSTOM_SPEC
    if name.startswith(OPT_OUT_PREFIX):
        channel = name.removeprefix(OPT_OUT_PREFIX)
        if channel not in OPT_OUT_CHANNELS:
            raise _error(path, f"no opt-out for channel {channel!r} (use {', '.join(OPT_OUT_CHANNELS)})")
        return Field("opted_out", channel), OPT_OUT_SPEC
    known = ", ".join([*FIELDS, "custom.KEY", "opted_out.CHANNEL"])
    raise _error(path, f"unknown field {name!r} (known: {known})")


def _text(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise _error(path, "must be text")
    if len(raw) > MAX_TEXT:
        raise _error(path, f"longer than {MAX_TEXT} characters")
    return raw


def _integer(raw: Any, path: str, low: int = 1, high: int = MAX_INTEGER) -> int:
    # JSON has one number type: 2.0 is the integer 2 (as JSON Schema's "integer" says).
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _error(path, "must be a whole number")
    if not low <= raw <= high:
        raise _error(path, f"must be between {low} and {high}")
    return raw


def _list(raw: Any, path: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise _error(path, "must be a non-empty list")
    if len(raw) > MAX_LIST:
        raise _error(path, f"more than {MAX_LIST} values")
    return raw


def _flag(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise _error(path, "must be true or false")
    return raw


def moment(raw: Any, path: str) -> datetime:
    """An ISO date (midnight UTC) or an RFC 3339 time with an offset, as aware UTC.

    Times beyond the calendar in UTC (year 1 at +05:00) are the calendar's first or last
    moment: a filter on them means the same."""
    if not isinstance(raw, str):
        raise _error(path, "must be an ISO date or time")
    try:
        if _DATE.fullmatch(raw):
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        found = _TIME.fullmatch(raw)
        if found is None:
            raise ValueError(raw)
        if found["offset"] is None:
            raise _error(path, f"{raw!r} has no time zone (add Z or +03:00)")
        offset = "+00:00" if found["offset"] in "Zz" else found["offset"]
        fraction = (found["fraction"] or "")[:7].ljust(7, "0") if found["fraction"] else ""
        parsed = datetime.fromisoformat(f"{found['base'][:10]}T{found['base'][11:]}{fraction}{offset}")
    except ValueError as exc:
        raise _error(path, f"{raw!r} is not an ISO date or time") from exc
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if parsed.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


def _value(kind: Kind, op: Op, raw: Any, path: str) -> Value:
    if op is Op.IS_EMPTY:
        return _flag(raw, path)
    if kind in (Kind.TEXT, Kind.TAGS, Kind.CUSTOM):
        if op in (Op.IN, Op.NOT_IN):
            return tuple(_text(item, f"{path}[{i}]") for i, item in enumerate(_list(raw, path)))
        return _text(raw, path)
    if kind is Kind.EMPLOYEE:
        if op in (Op.IN, Op.NOT_IN):
            return tuple(_integer(item, f"{path}[{i}]") for i, item in enumerate(_list(raw, path)))
        return _integer(raw, path)
    if kind is Kind.MOMENT:
        return moment(raw, path)
    if kind is Kind.DAYS:
        return _integer(raw, path, 0, MAX_DAYS)
    if kind is Kind.FLAG:
        return _flag(raw, path)
    if not isinstance(raw, dict) or set(raw) != {"employee", "from", "to"}:
        raise _error(path, 'must be {"employee": id, "from": date, "to": date}')
    value = TouchedBy(
        employee=_integer(raw["employee"], f"{path}.employee"),
        start=moment(raw["from"], f"{path}.from"),
        end=moment(raw["to"], f"{path}.to"),
    )
    return value  # `to` at or before `from`: an empty range, which no touch is in


def parse(definition: Any) -> Node:
    """The typed filter of a JSON definition, or a `ValidationError` naming the JSON path."""
    return _Parser().node(definition, "", 0)
