"""Segments on a real store: values stay values, merged contacts stay out, pages join up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.activity import ActivityStore
from hub.activity.schema import contacts
from hub.campaigns import segment_sql
from hub.campaigns.segments import parse
from tests.helpers.segment_oracle import PlainContact, World, write

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
INJECTION = "'; DROP TABLE contacts; --"


def _world(n: int) -> World:
    cities = ["Москва", INJECTION, "Казань", None]
    return World(
        contacts=tuple(
            PlainContact(
                id=i,
                name=f"Клиент {i}",
                created_at=NOW - timedelta(days=i),
                city=cities[i % 4],
                custom={"инн": INJECTION} if i % 5 == 0 else {},
                merged_into=1 if i % 7 == 0 else None,
            )
            for i in range(1, n + 1)
        ),
        heads={1: None},
    )


def test_values_are_bound_parameters_never_sql_text() -> None:
    node = parse(
        {"any": [
            {"field": "city", "op": "eq", "value": INJECTION},
            {"field": "custom.инн", "op": "contains", "value": INJECTION},
            {"field": "tags", "op": "in", "value": [INJECTION]},
            {"field": "name", "op": "starts_with", "value": INJECTION},
        ]}
    )  # fmt: skip
    query = select(contacts.c.id).where(segment_sql.membership(node, NOW))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        text = str(query.compile(dialect=dialect))
        assert "DROP" not in text
        assert INJECTION in query.compile(dialect=dialect).params.values()


async def test_an_injection_value_matches_itself_and_drops_nothing(store: ActivityStore) -> None:
    world = _world(40)
    await write(store.engine, world, NOW)
    node = parse({"field": "city", "op": "eq", "value": INJECTION})
    expected = [c.id for c in world.contacts if c.city == INJECTION and c.merged_into is None]
    assert [i async for i in segment_sql.members(store.engine, node, now=NOW)] == expected
    node = parse({"field": "custom.инн", "op": "eq", "value": INJECTION})
    assert await segment_sql.count(store.engine, node, now=NOW) == len(
        [c for c in world.contacts if c.custom and c.merged_into is None]
    )
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(contacts))).scalar() == 40


async def test_merged_contacts_are_never_members(store: ActivityStore) -> None:
    world = _world(30)
    await write(store.engine, world, NOW)
    everyone = parse({"all": []})
    found = [i async for i in segment_sql.members(store.engine, everyone, now=NOW)]
    assert found == [c.id for c in world.contacts if c.id % 7 != 0]
    assert await segment_sql.count(store.engine, parse({"any": []}), now=NOW) == 0


async def test_members_pages_join_up_in_id_order(store: ActivityStore) -> None:
    world = _world(50)
    await write(store.engine, world, NOW)
    node = parse({"not": {"field": "city", "op": "eq", "value": "Казань"}})
    expected = [c.id for c in world.contacts if c.city != "Казань" and c.merged_into is None]
    for page_size in (1, 3, len(expected), len(expected) + 1, 1000):
        found = [
            i async for i in segment_sql.members(store.engine, node, now=NOW, page_size=page_size)
        ]
        assert found == expected, page_size


async def test_sample_is_members_only_and_at_most_n(store: ActivityStore) -> None:
    world = _world(60)
    await write(store.engine, world, NOW)
    node = parse({"field": "city", "op": "in", "value": ["Москва", "Казань"]})
    allowed = {c.id for c in world.contacts if c.city in ("Москва", "Казань") and c.merged_into is None}
    picked = await segment_sql.sample(store.engine, node, 5, now=NOW)
    assert len(picked) == 5 and len(set(picked)) == 5 and set(picked) <= allowed
    assert set(await segment_sql.sample(store.engine, node, 1000, now=NOW)) == allowed


async def test_two_subtrees_in_one_filter_are_two_queries(store: ActivityStore) -> None:
    world = _world(10)
    await write(store.engine, world, NOW)
    node = parse(
        {
            "any": [
                {"field": "owner", "op": "in_subtree", "value": 1},
                {"not": {"field": "owner", "op": "in_subtree", "value": 1}},
            ]
        }
    )
    assert await segment_sql.count(store.engine, node, now=NOW) == len(
        [c for c in world.contacts if c.merged_into is None]
    )
