"""Cheap answers stay cheap: gzip for large JSON, ETag and 304 for API answers and assets."""

from __future__ import annotations

import gzip
import json

from hub.model import Address, AddressKind
from hub.web.app import COMPRESS_MIN_BYTES
from tests.helpers.web import ApiWorld


async def fill(api: ApiWorld, n: int = 40, first: int = 0) -> None:
    for i in range(first, first + n):
        await api.store.contacts.create(
            f"Client {i}", addresses=[Address(kind=AddressKind.PHONE, value=f"+7495{i:07}")]
        )


async def test_large_json_is_gzipped_for_clients_that_accept_it(api: ApiWorld) -> None:
    await fill(api)
    resp = await api.get(
        "/api/v1/contacts",
        params={"limit": "40"},
        headers={"Accept-Encoding": "gzip"},
    )
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    body = await resp.json()
    assert len(body["items"]) == 40
    plain = await api.get(
        "/api/v1/contacts", params={"limit": "40"}, headers={"Accept-Encoding": "identity"}
    )
    assert "Content-Encoding" not in plain.headers
    text = await plain.read()
    assert len(text) >= COMPRESS_MIN_BYTES
    assert json.loads(text) == body
    assert len(gzip.compress(text)) < len(text) / 3


async def test_small_json_goes_out_plain(api: ApiWorld) -> None:
    resp = await api.get("/api/v1/health", who=None, headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert "Content-Encoding" not in resp.headers


async def test_api_answers_carry_an_etag_and_304_when_unchanged(api: ApiWorld) -> None:
    await fill(api, 3)
    first = await api.get("/api/v1/contacts")
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = await api.get("/api/v1/contacts", headers={"If-None-Match": tag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == tag
    await fill(api, 1, first=3)  # a change gives a new tag and the full answer
    changed = await api.get("/api/v1/contacts", headers={"If-None-Match": tag})
    assert changed.status == 200
    assert changed.headers["ETag"] != tag


async def test_a_304_still_needs_the_token(api: ApiWorld) -> None:
    first = await api.get("/api/v1/contacts")
    resp = await api.get(
        "/api/v1/contacts", who=None, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert resp.status == 401


async def test_static_assets_revalidate_with_304(api: ApiWorld) -> None:
    first = await api.get("/", who=None)
    assert first.status == 200
    assert first.headers["Cache-Control"] == "no-cache"
    tag = first.headers["ETag"]
    again = await api.get("/", who=None, headers={"If-None-Match": tag})
    assert again.status == 304
