"""Call rounds through the API: who may create and start them, who sees which calls, closing
one by hand, and a call the PBX logs closing one by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.activity import ActivityStore
from hub.model import utcnow
from tests.helpers.call_round_world import CLIENTS, RoundWorld, call, seed_round_world
from tests.helpers.web import ApiWorld, Seeded, api_world


@pytest.fixture
async def world(sqlite_store: ActivityStore) -> AsyncIterator[tuple[ApiWorld, RoundWorld]]:
    rounds = await seed_round_world(sqlite_store)
    seeded = Seeded(employees=rounds.employees, tokens=rounds.tokens)
    async with api_world(sqlite_store, seeded=seeded) as api:
        yield api, rounds


async def create(api: ApiWorld, rounds: RoundWorld, who: str = "marketer", **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "Spring",
        "template_id": rounds.template_id,
        "segment": {"all": []},
        "employees": [rounds.employees["alice"], rounds.employees["bob"]],
        "day_start": "00:00",
        "day_end": "24:00",
        **over,
    }
    resp = await api.post("/api/v1/call-rounds", who=who, json=body)
    assert resp.status == 201, await resp.text()
    data: dict[str, object] = await resp.json()
    return data


async def test_a_round_from_creation_to_progress(world: tuple[ApiWorld, RoundWorld]) -> None:
    api, rounds = world
    created = await create(api, rounds)
    assert created["state"] == "draft" and created["channel"] == "call"
    cid = created["id"]
    assert (await api.post(f"/api/v1/call-rounds/{cid}/start", who="alice")).status == 403
    started = await (await api.post(f"/api/v1/call-rounds/{cid}/start", who="marketer")).json()
    assert started["state"] == "running" and started["planned"] == 5 and started["no_phone"] == 1
    assert (await api.post(f"/api/v1/call-rounds/{cid}/start", who="marketer")).status == 409
    # Alice sees her own calls, with the script and the extension to dial from
    mine = (await (await api.get("/api/v1/call-rounds/items", who="alice")).json())["items"]
    assert {i["contact_name"] for i in mine} == {"Ivan Petrov", "Olga Ivanova", "Nikolay Orlov"}
    assert all(i["employee_name"] == "Alice" and i["extension"] == "102" for i in mine)
    assert mine[0]["script"].startswith("Здравствуйте, ")
    # Bob sees only his; their head sees both; Carol (elsewhere) none
    bobs = (await (await api.get("/api/v1/call-rounds/items", who="bob")).json())["items"]
    assert {i["contact_name"] for i in bobs} == {"Petr Sokolov", "Anna Belova"}
    heads = (await (await api.get("/api/v1/call-rounds/items", who="head")).json())["items"]
    assert len(heads) == 5
    mine_only = await api.get("/api/v1/call-rounds/items", who="head", params={"mine": "true"})
    assert (await mine_only.json())["items"] == []
    carols = (await (await api.get("/api/v1/call-rounds/items", who="carol")).json())["items"]
    assert carols == []
    assert (await (await api.get("/api/v1/call-rounds", who="carol")).json())["items"] == []
    # the PBX logs Alice's answered call with Ivan: his call closes by itself
    await api.store.record([call("alice", CLIENTS["Ivan Petrov"][0], utcnow())])
    ivan = next(i for i in mine if i["contact_name"] == "Ivan Petrov")
    olga = next(i for i in mine if i["contact_name"] == "Olga Ivanova")
    # Bob may not close Alice's call; Alice may close hers with a result
    refused = await api.post(
        f"/api/v1/call-rounds/items/{olga['id']}/close", who="bob",
        json={"state": "done", "result": "x"},
    )  # fmt: skip
    assert refused.status == 404
    closed = await api.post(
        f"/api/v1/call-rounds/items/{olga['id']}/close", who="alice",
        json={"state": "not_reached", "result": "switched off"},
    )  # fmt: skip
    assert closed.status == 200 and (await closed.json())["state"] == "not_reached"
    again = await api.post(
        f"/api/v1/call-rounds/items/{ivan['id']}/close", who="alice",
        json={"state": "done", "result": "again"},
    )  # fmt: skip
    assert again.status == 409  # the PBX closed it already
    # progress: Alice sees her row, the marketer everyone's
    own = await (await api.get(f"/api/v1/call-rounds/{cid}", who="alice")).json()
    assert [(p["employee_name"], p["done"], p["open"], p["not_reached"]) for p in own["progress"]] == [
        ("Alice", 1, 1, 1)
    ]
    everyone = await (await api.get(f"/api/v1/call-rounds/{cid}", who="marketer")).json()
    assert {p["employee_name"] for p in everyone["progress"]} == {"Alice", "Bob"}
    assert everyone["totals"]["done"] == 1 and everyone["totals"]["total"] == 5
    listed = (await (await api.get("/api/v1/call-rounds", who="head")).json())["items"]
    assert [r["id"] for r in listed] == [cid]


async def test_refusals_name_the_field(world: tuple[ApiWorld, RoundWorld]) -> None:
    api, rounds = world
    for over, field in (
        ({"employees": [999_999]}, "employees"),
        ({"day_start": "18:00", "day_end": "09:00"}, "day_end"),
        ({"segment": {"nonsense": 1}}, "segment"),
    ):
        body = {"name": "x", "template_id": rounds.template_id, "segment": {"all": []},
                "employees": [rounds.employees["alice"]], **over}  # fmt: skip
        resp = await api.post("/api/v1/call-rounds", who="marketer", json=body)
        assert resp.status == 422, await resp.text()
        assert field in await resp.text()
    assert (await api.post("/api/v1/call-rounds", who="alice", json={})).status == 403
    assert (await api.get("/api/v1/call-rounds/999", who="marketer")).status == 404
