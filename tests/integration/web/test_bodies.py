"""Bad bodies get a clear 4xx: not JSON, not an object, unknown fields, too large."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.web.keys import SETTINGS
from tests.helpers.web import ApiWorld


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"{",
        b"{'name': 'x'}",
        b'{"name": "x",}',
        b"\xff\xfe\x00",
        b"NaN",
        b'{"name": "x", "custom": {"n": NaN}}',
        b"[" * 100_000,
    ],
)
async def test_malformed_json_is_400(api: ApiWorld, raw: bytes) -> None:
    resp = await api.post(
        "/api/v1/contacts", data=raw, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "malformed_body"
    assert error["message"]


@pytest.mark.parametrize("raw", [b"[]", b'"name"', b"42", b"null"])
async def test_body_must_be_an_object(api: ApiWorld, raw: bytes) -> None:
    resp = await api.post("/api/v1/contacts", data=raw)
    assert resp.status == 422
    assert "JSON object" in (await resp.json())["error"]["message"]


async def test_unknown_field_is_named_everywhere(api: ApiWorld) -> None:
    cases = [
        ("POST", "/api/v1/contacts", {"name": "x", "nmae": "y"}, "nmae"),
        (
            "POST",
            "/api/v1/contacts",
            {"name": "x", "addresses": [{"kind": "vk", "value": "a", "x": 1}]},
            "addresses.0.x",
        ),
        ("POST", "/api/v1/employees", {"name": "x", "boss": 1}, "boss"),
        (
            "POST",
            "/api/v1/interactions",
            {"channel": "task", "subject": "s", "when": "now"},
            "when",
        ),
    ]
    for method, path, body, field in cases:
        resp = await api.call(method, path, json=body)
        assert resp.status == 422, path
        error = (await resp.json())["error"]
        assert error["field"] == field
        assert f"unknown field {field!r}" in error["message"]


async def test_oversized_body_is_413(api: ApiWorld) -> None:
    limit = api.app[SETTINGS].web.max_body_bytes
    big = b'{"name": "' + b"x" * (limit + 10) + b'"}'
    resp = await api.post("/api/v1/contacts", data=big)
    assert resp.status == 413
    error = (await resp.json())["error"]
    assert error["code"] == "body_too_large"
    assert str(limit) in error["message"]


async def test_oversized_chunked_body_is_413(api: ApiWorld) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    headers = {**api.headers("admin"), "Content-Type": "application/json"}
    resp = await api.client.post("/api/v1/contacts", data=chunks(), headers=headers)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "body_too_large"


async def test_text_the_database_cannot_hold_is_refused(api: ApiWorld) -> None:
    for body in (
        {"name": "nul\u0000byte"},
        {"name": "x" * 301},
        {"name": "x", "city": "c" * 201},
    ):
        resp = await api.post("/api/v1/contacts", json=body)
        assert resp.status == 422, body
    lone_surrogate = b'{"name": "bad \\ud800 text"}'
    resp = await api.post("/api/v1/contacts", data=lone_surrogate)
    assert resp.status == 422
    assert (await resp.json())["error"]["field"] == "name"
