"""The segment filter language (`hub.campaigns.segments`) as JSON Schema, generated from its
whitelist.

Every field of `FIELDS` and the ``custom.KEY`` and ``opted_out.CHANNEL`` families, with
the operators each allows and the value each operator takes, as `parse` reads them: a
definition the schema accepts is one `parse` accepts, and the other way round, but for
two bounds JSON Schema cannot count — nesting deeper than `MAX_DEPTH` and more than
`MAX_CONDITIONS` conditions in all — which the descriptions state. The API's OpenAPI
document carries these schemas as components (`components`), so a client or a fuzzer
sees the grammar of every route that takes a filter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from hub.campaigns.segments import (
    CUSTOM_PREFIX,
    CUSTOM_SPEC,
    FIELDS,
    MAX_CONDITIONS,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_LIST,
    MAX_TEXT,
    OPT_OUT_CHANNELS,
    OPT_OUT_PREFIX,
    OPT_OUT_SPEC,
    FieldSpec,
    Kind,
    Op,
)

#: The component names (under ``#/components/schemas/``).
FILTER = "SegmentFilter"
CONDITION = "SegmentCondition"
#: ``custom.KEY``: the key as `segments` checks it (``re.match`` of this pattern).
CUSTOM_FIELD_PATTERN = "^" + CUSTOM_PREFIX.replace(".", "\\.") + "\\w{1,64}$"
_LISTED = (Op.IN, Op.NOT_IN)

_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT}
_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_INTEGER}
_FLAG: dict[str, Any] = {"type": "boolean"}
_MOMENT: dict[str, Any] = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "description": "an ISO date (midnight UTC) or an RFC 3339 time with seconds and an offset",
}


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_LIST}


def value_schema(kind: Kind, op: Op) -> dict[str, Any]:
    """The value an operator of a field of this kind takes (as `segments._value` reads it)."""
    if op is Op.IS_EMPTY or kind is Kind.FLAG:
        return dict(_FLAG)
    if kind in (Kind.TEXT, Kind.TAGS, Kind.CUSTOM):
        return _listed(dict(_TEXT)) if op in _LISTED else dict(_TEXT)
    if kind is Kind.EMPLOYEE:
        return _listed(dict(_ID)) if op in _LISTED else dict(_ID)
    if kind is Kind.MOMENT:
        return dict(_MOMENT)
    if kind is Kind.DAYS:
        return {"type": "integer", "minimum": 0, "maximum": MAX_DAYS}
    assert kind is Kind.TOUCHED_BY
    return {
        "type": "object",
        "properties": {"employee": dict(_ID), "from": dict(_MOMENT), "to": dict(_MOMENT)},
        "required": ["employee", "from", "to"],
        "additionalProperties": False,
        "description": "touched by the employee at or after `from` and before `to`",
    }


def _branches(field: dict[str, Any], spec: FieldSpec) -> list[dict[str, Any]]:
    """One branch per value the field's operators take: ``{"field", "op", "value"}``."""
    by_value: dict[str, list[Op]] = defaultdict(list)
    values: dict[str, dict[str, Any]] = {}
    for op in sorted(spec.ops):
        value = value_schema(spec.kind, op)
        key = repr(sorted(value.items(), key=lambda kv: kv[0]))
        by_value[key].append(op)
        values[key] = value
    branches = []
    for key, ops in by_value.items():
        required = ["field", "op"] if ops == [Op.IS_EMPTY] else ["field", "op", "value"]
        branches.append(
            {
                "type": "object",
                "properties": {
                    "field": field,
                    "op": {"enum": [op.value for op in ops]},
                    "value": values[key],
                },
                "required": required,
                "additionalProperties": False,
            }
        )
    return branches


def _condition() -> dict[str, Any]:
    groups: dict[FieldSpec, list[str]] = defaultdict(list)
    for name, spec in FIELDS.items():
        groups[spec].append(name)
    branches: list[dict[str, Any]] = []
    for spec, names in groups.items():
        branches += _branches({"enum": names}, spec)
    branches += _branches({"type": "string", "pattern": CUSTOM_FIELD_PATTERN}, CUSTOM_SPEC)
    opt_outs = [f"{OPT_OUT_PREFIX}{channel}" for channel in OPT_OUT_CHANNELS]
    branches += _branches({"enum": opt_outs}, OPT_OUT_SPEC)
    return {
        "description": "one test of one field: the field's operators and value types",
        "anyOf": branches,
    }


def _group(key: str, inner: dict[str, Any], words: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: inner},
        "required": [key],
        "additionalProperties": False,
        "description": words,
    }


def components(ref_prefix: str = "#/components/schemas/") -> Mapping[str, dict[str, Any]]:
    """The filter and condition schemas, named `FILTER` and `CONDITION`, their references
    under `ref_prefix`."""
    node = {"$ref": f"{ref_prefix}{FILTER}"}
    filter_schema = {
        "description": (
            "A segment filter (decision 0020): a condition, or all/any of filters, or not a"
            f" filter; at most {MAX_DEPTH} levels deep and {MAX_CONDITIONS} conditions in all."
        ),
        "anyOf": [
            {"$ref": f"{ref_prefix}{CONDITION}"},
            _group("all", {"type": "array", "items": node}, "every item holds (none: everyone)"),
            _group("any", {"type": "array", "items": node}, "one item holds (none: nobody)"),
            _group("not", node, "the filter does not hold"),
        ],
    }
    return {FILTER: filter_schema, CONDITION: _condition()}


def reference(ref_prefix: str = "#/components/schemas/") -> dict[str, Any]:
    """A reference to the filter schema (wrapped, so schema generators that resolve a bare
    ``$ref`` among their own definitions leave it be)."""
    return {"allOf": [{"$ref": f"{ref_prefix}{FILTER}"}]}
