"""Bearer tokens: who may in, and which paths need no token."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from hub.activity import ActivityStore
from tests.helpers.web import ApiWorld, api_world


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer th_not-a-real-token",
        "Bearer " + "x" * 5000,
        "Bearer th_\u00e9\u00e9",
    ],
)
async def test_missing_or_bad_token_is_401(api: ApiWorld, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    resp = await api.get("/api/v1/contacts", who=None, headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    body = await resp.json()
    assert body["error"]["code"] == "unauthenticated"
    assert (
        "token" in body["error"]["message"].lower()
        or "authorization" in body["error"]["message"].lower()
    )


async def test_scheme_is_case_insensitive(api: ApiWorld) -> None:
    resp = await api.get(
        "/api/v1/contacts", who=None, headers={"Authorization": f"bearer {api.tokens['admin']}"}
    )
    assert resp.status == 200


async def test_revoked_token_is_401(api: ApiWorld) -> None:
    assert await api.store.tokens.revoke(api.tokens["alice"][:10]) == 1
    resp = await api.get("/api/v1/activities", who="alice")
    assert resp.status == 401


async def test_health_and_openapi_need_no_token(api: ApiWorld) -> None:
    health = await api.get("/api/v1/health", who=None)
    assert health.status == 200
    assert (await health.json())["status"] == "ok"
    doc = await api.get("/api/v1/openapi.json", who=None)
    assert doc.status == 200


async def test_unknown_api_path_is_json_404(api: ApiWorld) -> None:
    resp = await api.get("/api/v1/nothing-here", who=None)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_json_405(api: ApiWorld) -> None:
    resp = await api.call("DELETE", "/api/v1/contacts")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_paths_outside_the_api_need_no_token(api: ApiWorld) -> None:
    resp = await api.get("/", who=None)
    # the dashboard (when present) answers "/" itself; without it the router says 404
    assert resp.status != 401


async def test_extra_routes_outside_api_are_public(tmp_path: Path) -> None:
    extra = web.RouteTableDef()

    @extra.get("/static/ping")
    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    store = await ActivityStore.open(f"sqlite:///{tmp_path}/x.db")
    try:
        async with api_world(store, extra_routes=[extra]) as world:
            resp = await world.get("/static/ping", who=None)
            assert resp.status == 200
            assert await resp.text() == "pong"
    finally:
        await store.close()


async def test_health_probe_from_runtime_is_used(tmp_path: Path) -> None:
    async def probe() -> dict[str, object]:
        return {"status": "down", "adapters": [{"name": "ami:office", "state": "backoff"}]}

    store = await ActivityStore.open(f"sqlite:///{tmp_path}/x.db")
    try:
        async with api_world(store, health=probe) as world:
            resp = await world.get("/api/v1/health", who=None)
            assert resp.status == 503
            assert (await resp.json())["adapters"][0]["name"] == "ami:office"
    finally:
        await store.close()
