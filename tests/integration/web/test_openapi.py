"""The OpenAPI document lists every API route, generated from the code, with resolvable refs."""

from __future__ import annotations

from typing import Any

from hub.web.openapi import api_routes
from tests.helpers.web import ApiWorld


async def document(api: ApiWorld) -> dict[str, Any]:
    resp = await api.get("/api/v1/openapi.json", who=None)
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


async def test_every_api_route_is_documented(api: ApiWorld) -> None:
    doc = await document(api)
    assert doc["openapi"].startswith("3.1")
    registered = {(r.path, r.method) for r in api_routes(api.app)}
    assert ("/api/v1/contacts", "post") in registered
    for route in api.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith("/api/v1") or route.method == "HEAD":
            continue
        operation = doc["paths"].get(path, {}).get(route.method.lower())
        assert operation is not None, f"{route.method} {path} missing from the document"
        assert not operation.get("x-undocumented"), f"{route.method} {path} is not described"
        assert operation["summary"] and operation["responses"]


async def test_refs_resolve_and_models_are_there(api: ApiWorld) -> None:
    doc = await document(api)
    schemas = doc["components"]["schemas"]
    for name in ("ContactCreate", "ContactOut", "ActivityPage", "ErrorOut", "InteractionCreate"):
        assert name in schemas

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref
    create = schemas["ContactCreate"]
    assert create["additionalProperties"] is False
    assert "name" in create["required"]


async def test_operations_carry_params_security_and_errors(api: ApiWorld) -> None:
    doc = await document(api)
    listing = doc["paths"]["/api/v1/activities"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"contact", "employee", "channel", "since", "until", "limit", "cursor"} <= names
    assert listing["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "422"} <= set(listing["responses"])
    assert listing["x-roles"] == ["admin", "head", "employee"]
    contact = doc["paths"]["/api/v1/contacts/{id}"]["patch"]
    assert contact["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    assert {"400", "404", "409", "413", "422"} <= set(contact["responses"])
    health = doc["paths"]["/api/v1/health"]["get"]
    assert health["security"] == []
    ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


async def test_bounds_are_stated_in_json_schema_words(api: ApiWorld) -> None:
    """Clients and fuzzers read `minimum`/`maximum`; pydantic's own `ge`/`le` mean nothing
    to them, and a document carrying them promises that `?limit=0` is fine."""
    doc = await document(api)

    def stray(node: Any, where: str) -> list[str]:
        if isinstance(node, dict):
            found = [f"{where}.{k}" for k in ("ge", "le", "gt", "lt") if k in node]
            for key, value in node.items():
                found += stray(value, f"{where}.{key}")
            return found
        if isinstance(node, list):
            return [f for i, item in enumerate(node) for f in stray(item, f"{where}[{i}]")]
        return []

    assert stray(doc, "$") == []
    params = {p["name"]: p for p in doc["paths"]["/api/v1/contacts"]["get"]["parameters"]}
    assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (1, 500)
