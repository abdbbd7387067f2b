"""Every list of the API reads a page in a constant number of statements, whatever its length.

The statements a request issues are counted on the store's engine
(``before_cursor_execute``) for a page of 1 row and a page of 200 rows; the two
counts must be equal, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch
from tests.helpers.web import EXTENSIONS, T0, ApiWorld, api_world

ROWS = 200


@contextmanager
def counting(store: ActivityStore) -> Iterator[list[str]]:
    """The SQL statements run on the store's engine while the block runs."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
async def world(store: ActivityStore) -> AsyncIterator[ApiWorld]:
    """The API over a store with 200 contacts (two identities and an organisation each) and
    200 activities with the first of them."""
    async with api_world(store) as api:
        for i in range(ROWS):
            await store.contacts.create(
                f"Client {i:03}",
                addresses=[
                    Address(kind=AddressKind.PHONE, value=f"+7495{i:07}"),
                    Address(kind=AddressKind.EMAIL, value=f"client{i}@example.com"),
                ],
                organization=f"Org {i % 7}",
            )
        employees = list(EXTENSIONS.values())
        await store.record(
            [
                Touch(
                    source="test:counts",
                    external_id=f"c{i}",
                    channel=Channel.CALL,
                    direction=Direction.IN,
                    status=Status.ANSWERED,
                    occurred_at=T0 + timedelta(minutes=i),
                    counterparts=(Address(kind=AddressKind.PHONE, value="+74950000000"),),
                    employee=Address(
                        kind=AddressKind.EXTENSION, value=employees[i % len(employees)]
                    ),
                )
                for i in range(ROWS)
            ]
        )
        yield api


async def statements(
    api: ApiWorld, path: str, params: Mapping[str, str], rows: int
) -> int:
    """How many statements one request for `path` issues; it must answer `rows` items."""
    resp = await api.get(path, params=params)  # warm: token touch, pool connections
    assert resp.status == 200, await resp.text()
    with counting(api.store) as seen:
        resp = await api.get(path, params=params)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    items = body["items"] if isinstance(body, dict) else body
    assert len(items) == rows, (path, params, len(items))
    return len(seen)


async def test_list_routes_read_a_page_in_constant_statements(world: ApiWorld) -> None:
    first = (await world.store.contacts.search("Client 000"))[0]
    timeline = f"/api/v1/contacts/{first['id']}/timeline"
    counts: dict[str, tuple[int, int]] = {}
    for path in ("/api/v1/contacts", "/api/v1/activities", timeline):
        counts[path] = (
            await statements(world, path, {"limit": "1"}, 1),
            await statements(world, path, {"limit": str(ROWS)}, ROWS),
        )
    # employees have no paging: one row's worth against two hundred more
    few = await statements(world, "/api/v1/employees", {}, len(EXTENSIONS))
    for i in range(ROWS):
        await world.store.employees.add(
            f"Clerk {i}", addresses=[Address(kind=AddressKind.EXTENSION, value=str(2000 + i))]
        )
    many = await statements(world, "/api/v1/employees", {}, len(EXTENSIONS) + ROWS)
    counts["/api/v1/employees"] = (few, many)
    assert {path: a == b for path, (a, b) in counts.items()} == dict.fromkeys(counts, True), counts


async def test_a_contact_page_shows_what_each_contact_shows(world: ApiWorld) -> None:
    resp = await world.get("/api/v1/contacts", params={"limit": "20", "offset": "5"})
    page = (await resp.json())["items"]
    one_by_one = [await (await world.get(f"/api/v1/contacts/{c['id']}")).json() for c in page]
    assert page == one_by_one
    assert all(len(c["identities"]) == 2 and c["organization"] for c in page)
