"""The migrations build exactly the schema the code queries, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

import hub.activity.plans_store  # noqa: F401 - registers the KPI plan tables on the metadata
from hub.activity import ActivityStore
from hub.activity.schema import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


async def test_migrated_database_matches_the_schema(store: ActivityStore) -> None:
    async with store.engine.connect() as conn:
        differences = await conn.run_sync(_diff)
    assert differences == []


async def test_migrating_twice_is_harmless(store_url: str) -> None:
    for _ in range(2):
        store = await ActivityStore.open(store_url)
        await store.close()
