"""Employees over the API: everyone reads the directory, only admins add to it."""

from __future__ import annotations

from tests.helpers.web import ApiWorld


async def test_directory_is_readable_by_every_role(api: ApiWorld) -> None:
    for who in ("admin", "head", "alice", "marketer"):
        resp = await api.get("/api/v1/employees", who=who)
        assert resp.status == 200
        names = [e["name"] for e in (await resp.json())["items"]]
        assert names == ["Boris Boss", "Helen Head", "Alice", "Bob", "Carol"]
    one = await api.get(f"/api/v1/employees/{api.employees['alice']}", who="bob")
    body = await one.json()
    assert body["head_id"] == api.employees["head"]
    assert body["addresses"] == [{"kind": "extension", "value": "102"}]
    assert (await api.get("/api/v1/employees/999")).status == 404
    assert (await api.get("/api/v1/employees/abc")).status == 404


async def test_admin_adds_an_employee(api: ApiWorld) -> None:
    resp = await api.post(
        "/api/v1/employees",
        json={
            "name": "Dmitry",
            "position": "Sales",
            "head_id": api.employees["head"],
            "addresses": [
                {"kind": "extension", "value": "105"},
                {"kind": "email", "value": "Dmitry@Acme.RU"},
            ],
        },
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert {(a["kind"], a["value"]) for a in body["addresses"]} == {
        ("extension", "105"),
        ("email", "dmitry@acme.ru"),
    }
    # the new person is in the head's subtree at once
    subtree = await api.store.employees.subtree(api.employees["head"])
    assert body["id"] in subtree


async def test_only_admins_add_employees(api: ApiWorld) -> None:
    for who in ("head", "alice", "marketer"):
        resp = await api.post("/api/v1/employees", json={"name": "X"}, who=who)
        assert resp.status == 403, who


async def test_taken_address_is_409_naming_the_owner(api: ApiWorld) -> None:
    resp = await api.post(
        "/api/v1/employees",
        json={"name": "X", "addresses": [{"kind": "extension", "value": "102"}]},
    )
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["field"] == "addresses.0"
    assert error["details"]["owner_employee_id"] == api.employees["alice"]


async def test_bad_employee_input(api: ApiWorld) -> None:
    cases = [
        ({"name": ""}, "name"),
        ({"name": "X", "addresses": [{"kind": "extension", "value": "1 0 1"}]}, "addresses.0"),
        ({"name": "X", "addresses": [{"kind": "extension", "value": "abc"}]}, "addresses.0"),
        ({"name": "X", "addresses": [{"kind": "extension", "value": "¹⁰¹"}]}, "addresses.0"),
        ({"name": "X", "addresses": [{"kind": "pager", "value": "1"}]}, "addresses.0.kind"),
        ({"name": "X", "role": "admin"}, "role"),
    ]
    for body, field in cases:
        resp = await api.post("/api/v1/employees", json=body)
        assert resp.status == 422, (body, await resp.text())
        assert (await resp.json())["error"]["field"] == field, body
    # A head who does not exist is named, and answered as nothing found.
    resp = await api.post("/api/v1/employees", json={"name": "X", "head_id": 999})
    assert resp.status == 404, await resp.text()
    assert (await resp.json())["error"]["field"] == "head_id"
