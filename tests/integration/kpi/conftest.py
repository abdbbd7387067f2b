"""Fixtures for KPI integration tests: a migrated SQLite file and a small world builder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.activity.engine import create_engine, migrate
from tests.integration.kpi.world import World


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[object]:
    """A fresh SQLite store file, migrated to head (0001 + the KPI migration 0002)."""
    eng = create_engine(f"sqlite:///{tmp_path / 'kpi.db'}")
    await migrate(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
async def world(engine: object) -> World:
    """Builds employees, contacts and activities in the store, keeping roll-ups current."""
    return World(engine)  # type: ignore[arg-type]
