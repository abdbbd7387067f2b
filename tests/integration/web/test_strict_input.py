"""The API takes what its OpenAPI document says and nothing looser: no 0 for false,
no 2.5 or true for an id (2.0 is the JSON number 2, as JSON Schema says), no year 5448, no empty `?limit=`, no text/plain body read as JSON."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.web import ApiWorld

LOOSE_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/v1/contacts", {"name": "x", "is_lead": 0}, "is_lead"),
    ("POST", "/api/v1/contacts", {"name": "x", "is_lead": "true"}, "is_lead"),
    ("POST", "/api/v1/contacts", {"name": "x", "owner_employee_id": 1.5}, "owner_employee_id"),
    ("PATCH", "/api/v1/contacts/1", {"is_lead": 1}, "is_lead"),
    ("POST", "/api/v1/employees", {"name": "x", "active": 0}, "active"),
    ("POST", "/api/v1/employees", {"name": "x", "head_id": True}, "head_id"),
    ("POST", "/api/v1/interactions", {"channel": "task", "subject": "s", "duration_s": False}, "duration_s"),
    ("POST", "/api/v1/interactions", {"channel": "task", "subject": "s", "employee_id": 2.5}, "employee_id"),
    ("POST", "/api/v1/interactions", {"channel": "task", "subject": "s", "contact_id": "1"}, "contact_id"),
    (
        "POST",
        "/api/v1/interactions",
        {"channel": "task", "subject": "s", "occurred_at": "5448-01-01T10:00:00Z"},
        "occurred_at",
    ),
    (
        "POST",
        "/api/v1/interactions",
        {"channel": "meeting", "subject": "s", "due_at": "0019-06-01T10:00:00+03:00"},
        "due_at",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), LOOSE_BODIES)
async def test_loose_values_are_refused_naming_the_field(
    api: ApiWorld, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    await api.post("/api/v1/contacts", json={"name": "Seed"})
    resp = await api.call(method, path, json=body)
    assert resp.status == 422, (body, await resp.text())
    assert (await resp.json())["error"]["field"] == field
    listed = await (await api.get("/api/v1/activities")).json()
    assert listed["items"] == []


async def test_completing_at_a_year_nobody_means_is_refused(api: ApiWorld) -> None:
    planned = await api.post(
        "/api/v1/interactions",
        json={"channel": "task", "subject": "s", "due_at": "2030-01-01T10:00:00Z"},
    )
    activity_id = (await planned.json())["id"]
    resp = await api.post(
        f"/api/v1/interactions/{activity_id}/complete",
        json={"result": "done", "at": "0019-01-01T10:00:00Z"},
    )
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "at"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=", "limit"),
        ("limit=1_0", "limit"),
        ("limit=\u00b9", "limit"),
        ("offset=", "offset"),
        ("q=x&q=y", "q"),
    ],
)
async def test_empty_or_odd_query_numbers_are_refused(
    api: ApiWorld, query: str, field: str
) -> None:
    resp = await api.get(f"/api/v1/contacts?{query}")
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]["field"] == field


async def test_an_empty_search_box_still_means_no_search(api: ApiWorld) -> None:
    resp = await api.get("/api/v1/contacts?q=&limit=5")
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json"]
)
async def test_a_body_declared_as_not_json_is_415(api: ApiWorld, content_type: str) -> None:
    resp = await api.post(
        "/api/v1/contacts", data=b'{"name": "T"}', headers={"Content-Type": content_type}
    )
    assert resp.status == 415, await resp.text()
    assert (await resp.json())["error"]["code"] == "unsupported_media_type"
    listed = await (await api.get("/api/v1/contacts")).json()
    assert [c["name"] for c in listed["items"]] == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"]
)
async def test_json_bodies_are_read(api: ApiWorld, content_type: str) -> None:
    resp = await api.post(
        "/api/v1/contacts", data=b'{"name": "T"}', headers={"Content-Type": content_type}
    )
    assert resp.status == 201, await resp.text()


async def test_the_openapi_document_lists_415_and_strict_types(api: ApiWorld) -> None:
    doc = await (await api.get("/api/v1/openapi.json", who=None)).json()
    post = doc["paths"]["/api/v1/contacts"]["post"]
    assert "415" in post["responses"]
    assert "415" not in doc["paths"]["/api/v1/contacts"]["get"]["responses"]


@pytest.mark.parametrize(("value", "status"), [(150, 422), (100.5, 422), (100, 201), (80, 201)])
async def test_a_share_plan_is_at_most_100_percent(api: ApiWorld, value: float, status: int) -> None:
    body = {
        "indicator": "client_base_quality",
        "month": "2024-03",
        "value": value,
        "employee": api.employees["alice"],
    }
    resp = await api.post("/api/v1/kpi/plans", who="head", json=body)
    assert resp.status in ((200, 201) if status == 201 else (status,)), await resp.text()
    if status == 422:
        assert (await resp.json())["error"]["field"] == "value"
