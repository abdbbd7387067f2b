"""Interactions entered by hand: planned with a due time, then completed with a result."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.web import T0, ApiWorld, hours, phone


async def plan(api: ApiWorld, who: str = "alice", **body: Any) -> dict[str, Any]:
    payload = {"channel": "meeting", "subject": "Demo", "due_at": (T0 + hours(24)).isoformat()}
    resp = await api.post("/api/v1/interactions", json=payload | body, who=who)
    assert resp.status == 201, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


async def test_plan_and_complete(api: ApiWorld) -> None:
    contact = await (await api.post("/api/v1/contacts", json={"name": "Ivan"})).json()
    planned = await plan(api, contact_id=contact["id"], channel="call", subject="Call back")
    assert planned["status"] == "planned"
    assert planned["employee_id"] == api.employees["alice"]
    assert planned["due_at"].startswith("2024-03-02T09:00:00")
    done = await api.post(
        f"/api/v1/interactions/{planned['id']}/complete",
        json={"result": "Agreed on a pilot", "at": "2024-03-02T12:30:00+03:00"},
        who="alice",
    )
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["status"] == "completed"
    assert body["result"] == "Agreed on a pilot"
    assert body["completed_at"].startswith("2024-03-02T09:30:00")
    assert [h["status"] for h in body["status_history"]] == ["completed"]
    again = await api.post(
        f"/api/v1/interactions/{planned['id']}/complete", json={"result": "x"}, who="alice"
    )
    assert again.status == 409
    timeline = await api.get(f"/api/v1/contacts/{contact['id']}/timeline", who="alice")
    assert [a["id"] for a in (await timeline.json())["items"]] == [planned["id"]]


async def test_logged_without_due_time_is_completed(api: ApiWorld) -> None:
    note = await plan(api, channel="note", subject="Met at the expo", due_at=None)
    assert note["status"] == "completed"


async def test_head_plans_for_subordinate_but_not_outsider(api: ApiWorld) -> None:
    mine = await plan(api, who="head", employee_id=api.employees["bob"])
    assert mine["employee_id"] == api.employees["bob"]
    resp = await api.post(
        "/api/v1/interactions",
        json={"channel": "task", "subject": "x", "employee_id": api.employees["carol"]},
        who="head",
    )
    assert resp.status == 403
    resp = await api.post(
        "/api/v1/interactions",
        json={"channel": "task", "subject": "x", "employee_id": api.employees["bob"]},
        who="alice",
    )
    assert resp.status == 403


async def test_only_visible_interactions_can_be_completed(api: ApiWorld) -> None:
    bobs = await plan(api, who="bob")
    resp = await api.post(
        f"/api/v1/interactions/{bobs['id']}/complete", json={"result": "done"}, who="alice"
    )
    assert resp.status == 403
    resp = await api.post(
        f"/api/v1/interactions/{bobs['id']}/complete", json={"result": "done"}, who="head"
    )
    assert resp.status == 200


async def test_a_recorded_call_is_not_completable(api: ApiWorld) -> None:
    await api.record(employee="alice", counterpart=phone("+74951234567"))
    call = (await (await api.get("/api/v1/activities", who="alice")).json())["items"][0]
    resp = await api.post(
        f"/api/v1/interactions/{call['id']}/complete", json={"result": "x"}, who="alice"
    )
    assert resp.status == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "email", "subject": "x"}, "channel"),
        ({"channel": "task", "subject": ""}, "subject"),
        ({"channel": "task", "subject": "x", "due_at": "2024-03-02T10:00:00"}, "due_at"),
        ({"channel": "task", "subject": "x", "due_at": "9999-12-31T23:00:00-14:00"}, "due_at"),
        ({"channel": "task", "subject": "x", "contact_id": 2**70}, "contact_id"),
        ({"channel": "task", "subject": "x", "duration_s": -5}, "duration_s"),
        ({"channel": "task"}, "subject"),
        ({"channel": "task", "subject": "x", "priority": "high"}, "priority"),
    ],
)
async def test_bad_interaction_names_the_field(
    api: ApiWorld, body: dict[str, Any], field: str
) -> None:
    resp = await api.post("/api/v1/interactions", json=body, who="admin")
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]["field"] == field


async def test_a_contact_that_does_not_exist_is_404_naming_the_field(api: ApiWorld) -> None:
    body = {"channel": "task", "subject": "x", "contact_id": 999}
    resp = await api.post("/api/v1/interactions", json=body, who="admin")
    assert resp.status == 404, await resp.text()
    assert (await resp.json())["error"]["field"] == "contact_id"


async def test_marketer_cannot_touch_interactions(api: ApiWorld) -> None:
    resp = await api.post(
        "/api/v1/interactions", json={"channel": "task", "subject": "x"}, who="marketer"
    )
    assert resp.status == 403
