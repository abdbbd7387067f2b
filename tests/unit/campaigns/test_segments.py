"""The segment filter language: good filters parse to typed nodes, bad ones name the JSON path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.campaigns.segments import (
    All,
    AnyOf,
    Condition,
    Field,
    Kind,
    Not,
    Op,
    TouchedBy,
    parse,
)
from hub.errors import ValidationError


def test_a_nested_filter_parses_to_typed_nodes() -> None:
    node = parse(
        {
            "all": [
                {"field": "city", "op": "eq", "value": "Москва"},
                {"any": [
                    {"field": "tags", "op": "in", "value": ["vip", "выставка"]},
                    {"field": "custom.инн", "op": "is_empty", "value": False},
                ]},
                {"not": {"field": "opted_out.email", "op": "eq", "value": True}},
                {"field": "touched_by", "op": "between",
                 "value": {"employee": 7, "from": "2026-11-01", "to": "2026-12-01T00:00:00+03:00"}},
            ]
        }
    )  # fmt: skip
    assert node == All(
        (
            Condition(field=Field("city"), kind=Kind.TEXT, op=Op.EQ, value="Москва"),
            AnyOf(
                (
                    Condition(field=Field("tags"), kind=Kind.TAGS, op=Op.IN, value=("vip", "выставка")),
                    Condition(field=Field("custom", "инн"), kind=Kind.CUSTOM, op=Op.IS_EMPTY, value=False),
                )
            ),
            Not(Condition(field=Field("opted_out", "email"), kind=Kind.FLAG, op=Op.EQ, value=True)),
            Condition(
                field=Field("touched_by"),
                kind=Kind.TOUCHED_BY,
                op=Op.BETWEEN,
                value=TouchedBy(
                    employee=7,
                    start=datetime(2026, 11, 1, tzinfo=UTC),
                    end=datetime(2026, 11, 30, 21, tzinfo=UTC),
                ),
            ),
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    ("definition", "path", "words"),
    [
        ({"all": [{"field": "city", "op": "eq", "value": "Москва"},
                  {"any": [{"field": "city", "op": "like", "value": "Мос%"}]}]},
         "all[1].any[0].op", "'like' is not an operator of field city"),
        ({"field": "город", "op": "eq", "value": "Москва"}, "field", "unknown field 'город'"),
        ({"field": "contacts.id; DROP TABLE contacts", "op": "eq", "value": 1}, "field", "unknown field"),
        ({"field": "city", "op": "eq; DROP TABLE contacts", "value": "x"}, "op", "is not an operator"),
        ({"field": "custom.a b", "op": "eq", "value": "x"}, "field", "custom field key 'a b'"),
        ({"field": "custom.x') OR 1=1 --", "op": "eq", "value": "x"}, "field", "custom field key"),
        ({"field": "opted_out.fax", "op": "eq", "value": True}, "field", "no opt-out for channel 'fax'"),
        ({"field": "created_at", "op": "eq", "value": "2026-01-01"}, "op", "not an operator of field created_at"),
        ({"field": "created_at", "op": "before", "value": "вчера"}, "value", "not an ISO date"),
        ({"field": "created_at", "op": "after", "value": "2026-01-01T10:00:00"}, "value", "no time zone"),
        ({"field": "no_touch_days", "op": "gte", "value": "30"}, "value", "whole number"),
        ({"field": "no_touch_days", "op": "gte", "value": -1}, "value", "between 0 and"),
        ({"field": "owner", "op": "in", "value": []}, "value", "non-empty list"),
        ({"field": "owner", "op": "eq", "value": True}, "value", "whole number"),
        ({"field": "city", "op": "in", "value": ["Москва", 5]}, "value[1]", "must be text"),
        ({"field": "city", "op": "eq"}, "value", "is missing"),
        ({"field": "has_email", "op": "eq", "value": "да"}, "value", "true or false"),
        ({"field": "created_at", "op": "after", "value": "2026-01-01T10:00+03:00"}, "value", "not an ISO date or time"),
        ({"field": "owner", "op": "eq", "value": 2.5}, "value", "whole number"),
        ({"field": "touched_by", "op": "between", "value": {"employee": 1}}, "value", '"employee": id'),
        ({"all": {"field": "city", "op": "eq", "value": "x"}}, "all", "must be a list"),
        ({"all": [], "any": []}, "filter", "must be the only key"),
        ({"not": [1]}, "not", "must be an object"),
        ({"field": "city", "op": "eq", "value": "x", "sql": "1=1"}, "filter", "unknown keys ['sql']"),
        ("city = 'Москва'", "filter", "must be an object"),
        ({"any": [{"not": {"all": [{"field": "city", "op": "eq", "value": "x" * 301}]}}]},
         "any[0].not.all[0].value", "longer than 300"),
    ],
)  # fmt: skip
def test_a_bad_filter_is_refused_naming_the_json_path(
    definition: Any, path: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(definition)
    assert caught.value.field == path
    assert str(caught.value).startswith(f"{path}: ")
    assert words in str(caught.value)


def test_depth_and_size_are_bounded() -> None:
    deep: Any = {"field": "city", "op": "eq", "value": "x"}
    for _ in range(13):
        deep = {"not": deep}
    with pytest.raises(ValidationError, match="nested deeper"):
        parse(deep)
    wide = {"any": [{"field": "city", "op": "eq", "value": str(i)} for i in range(201)]}
    with pytest.raises(ValidationError, match="more than 200 conditions"):
        parse(wide)
