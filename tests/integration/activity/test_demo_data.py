"""The demo data is Russian business data, and the same for the same seed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from hub.activity import ActivityStore
from hub.demo import seed

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CYRILLIC = re.compile("[А-Яа-яЁё]")


async def _load(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    store = await ActivityStore.open(f"sqlite:///{path}")
    try:
        result = await seed(store.engine, activities=1500, employees=6, contacts=60, now=NOW)
        assert result.head_name == "Анна Иванова" and result.head_reports > 0
        queries = {
            "employees": "SELECT name, position FROM employees ORDER BY id",
            "employee_emails": "SELECT value FROM employee_addresses WHERE kind = 'email'",
            "contacts": "SELECT c.name, o.name, c.position, c.region, c.city FROM contacts c "
            "LEFT JOIN organizations o ON o.id = c.organization_id ORDER BY c.id",
            "identities": "SELECT kind, value FROM identities ORDER BY id",
            "activities": "SELECT channel, direction, status, subject, preview, result, "
            "occurred_at FROM activities ORDER BY id",
        }
        async with store.engine.connect() as conn:
            return {k: [tuple(r) for r in await conn.execute(text(q))] for k, q in queries.items()}
    finally:
        await store.close()


async def test_demo_is_russian_and_deterministic(tmp_path: Path) -> None:
    first = await _load(tmp_path / "a.db")
    assert first == await _load(tmp_path / "b.db")  # seeded: the same data again

    assert all(CYRILLIC.search(name) and CYRILLIC.search(pos) for name, pos in first["employees"])
    assert all(e.isascii() and e.endswith("@demo.touchhub.example") for (e,) in first["employee_emails"])
    organisations = {org for _, org, *_ in first["contacts"] if org}
    assert {o.split()[0] for o in organisations} <= {"ООО", "АО", "ИП"} and len(organisations) > 3
    for name, _, position, region, city in first["contacts"]:
        assert CYRILLIC.search(name) and CYRILLIC.search(region)
        assert position is None or CYRILLIC.search(position)
        assert city is None or CYRILLIC.search(city)
    for kind, value in first["identities"]:
        if kind == "phone":
            assert re.fullmatch(r"\+79\d{9}", value), value
        elif kind == "email":
            assert value.isascii() and "@" in value, value
    phones = [v for k, v in first["identities"] if k == "phone"]
    assert len(phones) == len(set(phones))
    words = [
        part
        for _, _, _, subject, preview, result, _ in first["activities"]
        for part in (subject, preview, result)
        if part
    ]
    assert words and all(CYRILLIC.search(w) for w in words)
    channels = {
        channel for channel, _, _, subject, preview, *_ in first["activities"] if subject or preview
    }
    assert {"email", "sms", "messenger", "meeting", "task"} <= channels
