"""Property: on SQLite and PostgreSQL, the compiled SQL's members equal the Python evaluation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity import ActivityStore
from hub.campaigns import segment_sql
from hub.campaigns.segments import parse
from tests.helpers.segment_oracle import (
    TEXT_FIELDS,
    PlainActivity,
    PlainContact,
    PlainIdentity,
    World,
    members,
    write,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# Small pools, so filters and contacts meet often; edge cases on purpose: case, LIKE
# wildcards, quotes, SQL, empty strings.
TEXTS = ["Москва", "москва", "Мос", "Санкт-Петербург", "", "50%_скидка", "O'Брайен", "'; DROP TABLE contacts; --", "Ёлки"]
TAGS = ["vip", "VIP", "выставка", "a%b", "дилер"]
KEYS = ["инн", "source", "тип"]
EMAILS = ["ivan@acme.ru", "olga@ромашка.рф", "sales@acme.ru", "x@y.kz"]
PHONES = ["+79161234567", "+74951234567", "+77012345678", "+380441234567", "+79990000000"]
EMPLOYEES = [1, 2, 3, 4]
CHANNELS = ["call", "email", "sms", "note", "task", "meeting"]
STATUSES = ["answered", "missed", "sent", "delivered", "planned", "failed", "bounced", "done"]
DIRECTIONS = ["in", "out", "internal"]
DAY_OFFSETS = [0, 1, 5, 10, 29, 30, 31, 90]
#: Several filters per written world: writing is the slow part of an example.
FILTERS_PER_WORLD = 8

texts = st.sampled_from(TEXTS)
optional_texts = st.one_of(st.none(), texts)


def moments() -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda d, h: NOW - timedelta(days=d, hours=h),
        st.sampled_from(DAY_OFFSETS),
        st.sampled_from([0, 12]),
    )


activity = st.builds(
    PlainActivity,
    channel=st.sampled_from(CHANNELS),
    direction=st.sampled_from(DIRECTIONS),
    status=st.sampled_from(STATUSES),
    is_client=st.booleans(),
    occurred_at=moments(),
    employee_id=st.sampled_from([None, *EMPLOYEES]),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    heads: dict[int, int | None] = {1: None}
    for e in EMPLOYEES[1:]:
        heads[e] = draw(st.sampled_from([None, *range(1, e)]))
    count = draw(st.integers(2, 9))
    taken: set[tuple[str, str]] = set()
    people = []
    for cid in range(1, count + 1):
        ids = []
        for kind, pool in (("email", EMAILS), ("phone", PHONES)):
            for value in draw(st.lists(st.sampled_from(pool), max_size=2, unique=True)):
                if (kind, value) not in taken:
                    taken.add((kind, value))
                    ids.append(PlainIdentity(kind=kind, value=value, bouncing=draw(st.booleans())))
        people.append(
            PlainContact(
                id=cid,
                name=draw(texts),
                created_at=draw(moments()),
                organisation=draw(optional_texts),
                position=draw(optional_texts),
                region=draw(optional_texts),
                city=draw(optional_texts),
                importance=draw(st.sampled_from([None, "высокая", "низкая", ""])),
                segment=draw(st.sampled_from([None, "A", "B", "C"])),
                custom=draw(st.dictionaries(st.sampled_from(KEYS), texts, max_size=2)),
                tags=frozenset(draw(st.lists(st.sampled_from(TAGS), max_size=3))),
                is_lead=draw(st.booleans()),
                owner=draw(st.sampled_from([None, *EMPLOYEES])),
                merged_into=draw(st.sampled_from([None, *range(1, cid)])) if draw(st.booleans()) and cid > 1 else None,
                identities=tuple(ids),
                activities=tuple(draw(st.lists(activity, max_size=3))),
            )
        )
    blocked = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("email"), st.sampled_from(EMAILS), st.booleans()),
                st.tuples(st.just("sms"), st.sampled_from(PHONES), st.booleans()),
            ),
            max_size=3,
            unique_by=lambda s: s,  # one active suppression per address (migration 0011)
        )
    )
    return World(contacts=tuple(people), heads=heads, suppressions=tuple(blocked))


def _iso(d: datetime) -> str:
    return d.isoformat()


def _text_conditions(field: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["eq", "ne", "contains", "starts_with"]), values),
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["in", "not_in"]), st.lists(values, min_size=1, max_size=3)),
        st.builds(lambda v: {"field": field, "op": "is_empty", "value": v}, st.booleans()),
    )


def _cond(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


conditions = st.one_of(
    st.sampled_from(TEXT_FIELDS).flatmap(lambda f: _text_conditions(f, st.sampled_from(["Москва", "Мос", "", "A", "высокая", "50%_скидка", "'; DROP TABLE contacts; --", "Ёлки"]))),
    st.sampled_from(KEYS).flatmap(
        lambda k: st.one_of(
            st.builds(lambda op, v: _cond(f"custom.{k}", op, v), st.sampled_from(["eq", "ne", "contains"]), texts),
            st.builds(lambda v: _cond(f"custom.{k}", "is_empty", v), st.booleans()),
        )
    ),
    st.builds(lambda op, v: _cond("tags", op, v), st.sampled_from(["eq", "ne"]), st.sampled_from(TAGS)),
    st.builds(lambda op, v: _cond("tags", op, v), st.sampled_from(["in", "not_in"]), st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)),
    st.builds(lambda v: _cond("tags", "is_empty", v), st.booleans()),
    st.builds(lambda op, v: _cond("owner", op, v), st.sampled_from(["eq", "ne", "in_subtree"]), st.sampled_from(EMPLOYEES)),
    st.builds(lambda op, v: _cond("owner", op, v), st.sampled_from(["in", "not_in"]), st.lists(st.sampled_from(EMPLOYEES), min_size=1, max_size=2)),
    st.builds(lambda v: _cond("owner", "is_empty", v), st.booleans()),
    st.builds(lambda op, d: _cond("created_at", op, _iso(d)), st.sampled_from(["before", "after"]), moments()),
    st.builds(lambda op, n: _cond("no_touch_days", op, n), st.sampled_from(["gte", "lte"]), st.sampled_from(DAY_OFFSETS)),
    st.builds(
        lambda e, a, b: _cond("touched_by", "between", {"employee": e, "from": _iso(min(a, b)), "to": _iso(max(a, b) + timedelta(hours=1))}),
        st.sampled_from(EMPLOYEES), moments(), moments(),
    ),
    st.builds(lambda f, v: _cond(f, "eq", v), st.sampled_from(["has_email", "has_mobile", "is_lead", "opted_out.email", "opted_out.sms"]), st.booleans()),
)  # fmt: skip

filters = st.recursive(
    conditions,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@pytest.fixture
def engine(store_url: str) -> Iterator[tuple[asyncio.Runner, AsyncEngine]]:
    """A migrated store and the event loop to drive it from a Hypothesis test."""
    with asyncio.Runner() as runner:
        store = runner.run(ActivityStore.open(store_url))
        try:
            yield runner, store.engine
        finally:
            runner.run(store.close())


async def _sql_members(
    engine: AsyncEngine, world: World, definitions: list[Any]
) -> list[tuple[list[int], int]]:
    await write(engine, world, NOW)
    results = []
    for definition in definitions:
        node = parse(definition)
        found = [i async for i in segment_sql.members(engine, node, now=NOW, page_size=3)]
        results.append((found, await segment_sql.count(engine, node, now=NOW)))
    return results


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds(), definitions=st.lists(filters, min_size=1, max_size=FILTERS_PER_WORLD))
def test_compiled_sql_members_equal_the_python_evaluation(
    engine: tuple[asyncio.Runner, AsyncEngine], world: World, definitions: list[Any]
) -> None:
    runner, store_engine = engine
    results = runner.run(_sql_members(store_engine, world, definitions))
    for definition, (found, counted) in zip(definitions, results, strict=True):
        expected = members(parse(definition), world, NOW)
        assert found == expected, definition
        assert counted == len(expected), definition
