"""The token cache: one lookup per token for a few seconds, and revocation honoured after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from hub.activity import ActivityStore
from hub.config import Settings
from hub.web.app import create_app
from hub.web.auth import TOKEN_CACHE_S, TokenCache
from tests.helpers.web import Seeded, copy_store_file


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Cached:
    client: TestClient  # type: ignore[type-arg]
    store: ActivityStore
    clock: Clock
    tokens: dict[str, str]
    token_lookups: list[str]

    async def status(self, who: str) -> int:
        resp = await self.client.get(
            "/api/v1/employees", headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )
        return resp.status


@pytest.fixture
async def cached(tmp_path: Path, api_template: tuple[Path, Seeded]) -> AsyncIterator[Cached]:
    template, seeded = api_template
    copy_store_file(template, tmp_path / "t.db")
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/t.db")
    clock = Clock()
    lookups: list[str] = []

    def seen(*args: object) -> None:
        if "api_tokens" in str(args[2]):
            lookups.append(str(args[2]))

    event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    app = create_app(store, Settings(), token_cache=TokenCache(ttl_s=TOKEN_CACHE_S, clock=clock))
    try:
        async with TestClient(TestServer(app)) as client:
            yield Cached(client, store, clock, dict(seeded.tokens), lookups)
    finally:
        await store.close()


async def test_a_token_is_looked_up_once_while_cached(cached: Cached) -> None:
    for _ in range(5):
        assert await cached.status("alice") == 200
    assert len([s for s in cached.token_lookups if s.lstrip().upper().startswith("SELECT")]) == 1
    cached.clock.now += TOKEN_CACHE_S + 0.1
    assert await cached.status("alice") == 200
    assert len([s for s in cached.token_lookups if s.lstrip().upper().startswith("SELECT")]) == 2


async def test_a_revoked_token_stops_working_within_the_cache_time(cached: Cached) -> None:
    assert await cached.status("alice") == 200
    assert await cached.store.tokens.revoke(cached.tokens["alice"][:10]) == 1
    cached.clock.now += TOKEN_CACHE_S / 2
    assert await cached.status("alice") == 200  # remembered: the price of the cache
    cached.clock.now += TOKEN_CACHE_S / 2 + 0.1
    assert await cached.status("alice") == 401
    assert await cached.status("bob") == 200  # others are untouched


async def test_unknown_tokens_are_not_remembered(cached: Cached) -> None:
    resp = await cached.client.get(
        "/api/v1/employees", headers={"Authorization": "Bearer th_not-a-real-token"}
    )
    assert resp.status == 401
    new = await cached.store.tokens.create("late", "admin")
    cached.tokens["late"] = new
    assert await cached.status("late") == 200


async def test_concurrent_requests_that_miss_share_one_lookup(cached: Cached) -> None:
    """An entry expiring under load: the requests in flight wait for one lookup."""
    assert await cached.status("alice") == 200
    cached.clock.now += TOKEN_CACHE_S + 0.1
    statuses = await asyncio.gather(*(cached.status("alice") for _ in range(10)))
    assert statuses == [200] * 10
    assert len([s for s in cached.token_lookups if s.lstrip().upper().startswith("SELECT")]) == 2
