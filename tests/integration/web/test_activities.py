"""Activities over the API: who sees what, filters, and cursors that never skip or repeat."""

from __future__ import annotations

from typing import Any

import pytest

from hub.model import Channel, Direction, Status
from tests.helpers.web import T0, ApiWorld, email, hours, phone


async def listing(api: ApiWorld, who: str = "admin", **params: str) -> dict[str, Any]:
    resp = await api.get("/api/v1/activities", params=params, who=who)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def seed_one_each(api: ApiWorld) -> dict[str, int]:
    """One call per person; returns the activity id per employee name."""
    ids = {}
    for i, name in enumerate(["boss", "head", "alice", "bob", "carol"]):
        await api.record(employee=name, counterpart=phone(f"+7495000000{i}"), at=T0 + hours(i))
        page = await listing(api, employee=str(api.employees[name]))
        ids[name] = page["items"][0]["id"]
    return ids


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("admin", {"boss", "head", "alice", "bob", "carol"}),
        ("head", {"head", "alice", "bob"}),
        ("alice", {"alice"}),
        ("carol", {"carol"}),
    ],
)
async def test_visibility_by_role(api: ApiWorld, who: str, sees: set[str]) -> None:
    ids = await seed_one_each(api)
    page = await listing(api, who=who)
    assert {a["id"] for a in page["items"]} == {ids[n] for n in sees}
    for name, activity_id in ids.items():
        resp = await api.get(f"/api/v1/activities/{activity_id}", who=who)
        assert resp.status == (200 if name in sees else 403), (who, name)


async def test_marketer_gets_403_on_activities(api: ApiWorld) -> None:
    ids = await seed_one_each(api)
    assert (await api.get("/api/v1/activities", who="marketer")).status == 403
    resp = await api.get(f"/api/v1/activities/{ids['alice']}", who="marketer")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"


async def test_employee_filter_outside_view_is_403(api: ApiWorld) -> None:
    await seed_one_each(api)
    resp = await api.get(
        "/api/v1/activities", params={"employee": str(api.employees["carol"])}, who="head"
    )
    assert resp.status == 403
    inside = await listing(api, who="head", employee=str(api.employees["bob"]))
    assert [a["employee_id"] for a in inside["items"]] == [api.employees["bob"]]


async def test_cursor_walks_every_item_exactly_once(api: ApiWorld) -> None:
    # several activities share a timestamp, so the cursor must break ties by id
    for i in range(23):
        await api.record(
            employee="alice" if i % 2 else "bob",
            counterpart=phone(f"+7495111{i:04d}"),
            at=T0 + hours(i // 4),
        )
    for who, expected in (("admin", 23), ("alice", 11)):
        seen: list[int] = []
        cursor: str | None = None
        pages = 0
        while True:
            params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
            page = await listing(api, who=who, **params)
            seen += [a["id"] for a in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == expected
        assert pages == -(-expected // 5)  # no empty trailing page
        times = [a["occurred_at"] for a in (await listing(api, who=who, limit="500"))["items"]]
        assert times == sorted(times, reverse=True)


async def test_filters(api: ApiWorld) -> None:
    contact_resp = await api.post(
        "/api/v1/contacts", json={"name": "Ivan", "emails": ["ivan@acme.ru"]}
    )
    contact = await contact_resp.json()
    await api.record(employee="alice", counterpart=phone("+74951234567"), at=T0)
    await api.record(
        employee="alice",
        channel=Channel.EMAIL,
        counterpart=email("ivan@acme.ru"),
        at=T0 + hours(1),
        direction=Direction.OUT,
        status=Status.SENT,
    )
    await api.record(
        employee="bob", counterpart=phone("+74951234567"), at=T0 + hours(2), status=Status.MISSED
    )

    async def count(**params: str) -> int:
        return len((await listing(api, **params))["items"])

    assert await count(channel="email") == 1
    # the missed inbound call raised a call-back task (outbound) on its own
    assert await count(channel="task", status="planned") == 1
    assert await count(direction="out", channel="email") == 1
    assert await count(status="missed") == 1
    assert await count(contact=str(contact["id"])) == 1
    assert await count(since=(T0 + hours(1)).isoformat(), channel="call") == 1
    assert await count(until=(T0 + hours(1)).isoformat()) == 1
    assert await count(since=T0.isoformat(), until=(T0 + hours(2)).isoformat()) == 2
    assert await count(employee=str(api.employees["bob"]), channel="call") == 1
    # an empty value is a value like any other: not a channel, so refused (below)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"since": "2024-03-01T09:00:00"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"employee": "-1"}, "employee"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_filters_name_the_parameter(
    api: ApiWorld, params: dict[str, str], field: str
) -> None:
    resp = await api.get("/api/v1/activities", params=params)
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]["field"] == field


async def test_repeated_parameter_is_refused(api: ApiWorld) -> None:
    resp = await api.get("/api/v1/activities?channel=call&channel=sms")
    assert resp.status == 422
    assert (await resp.json())["error"]["field"] == "channel"


async def test_activity_detail_has_status_history(api: ApiWorld) -> None:
    ids = await seed_one_each(api)
    resp = await api.get(f"/api/v1/activities/{ids['bob']}", who="head")
    body = await resp.json()
    assert body["channel"] == "call"
    assert body["employee_id"] == api.employees["bob"]
    assert isinstance(body["status_history"], list)
    assert isinstance(body["flags"], list)
    missing = await api.get("/api/v1/activities/999999")
    assert missing.status == 404
