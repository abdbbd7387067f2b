"""Fixtures for REST API tests: a real SQLite store file and the app on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from tests.helpers.web import ApiWorld, Seeded, api_world, build_template, copy_store_file


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    """One migrated store with people and tokens, copied for every test."""
    path = tmp_path_factory.mktemp("api") / "template.db"
    return path, build_template(path)


@pytest.fixture
async def api(tmp_path: Path, api_template: tuple[Path, Seeded]) -> AsyncIterator[ApiWorld]:
    """The API over a fresh SQLite store file, with people and a token for every role."""
    template, seeded = api_template
    copy_store_file(template, tmp_path / "t.db")
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        async with api_world(store, seeded=seeded) as world:
            yield world
    finally:
        await store.close()
