"""Walking a segment of ~100,000 among 1,000,000 contacts on SQLite with `members()`.

    .venv/bin/python -m bench.campaign.segments [--contacts 1000000] [--dir /tmp/segbench]

Contacts are written once with plain `executemany` (10 % in Казань, a third tagged
"vip", every 50th merged away) and kept in `--dir` for later runs. Each filter is timed
through `segment_sql.members()` (keyset pages of 5,000) next to the raw
``SELECT id FROM contacts WHERE …`` that returns the same ids, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from hub.activity import ActivityStore
from hub.campaigns import segment_sql
from hub.campaigns.segments import parse

CITIES = ("Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск",
          "Самара", "Омск", "Уфа", "Пермь", "Воронеж")  # fmt: skip
GOAL_S = 2.0

FILTERS: list[tuple[str, dict[str, Any], str]] = [
    (
        "city = Казань",
        {"field": "city", "op": "eq", "value": "Казань"},
        "SELECT id FROM contacts WHERE merged_into_id IS NULL AND city = 'Казань' ORDER BY id",
    ),
    (
        "city in (Казань, Уфа) and not vip",
        {"all": [
            {"field": "city", "op": "in", "value": ["Казань", "Уфа"]},
            {"field": "tags", "op": "ne", "value": "vip"},
        ]},
        "SELECT id FROM contacts c WHERE merged_into_id IS NULL AND city IN ('Казань', 'Уфа')"
        " AND NOT EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = 'vip')"
        " ORDER BY id",
    ),
]  # fmt: skip


def _fill(path: Path, count: int) -> None:
    db = sqlite3.connect(path)
    if db.execute("SELECT count(*) FROM contacts").fetchone()[0] == count:
        db.close()
        return
    db.execute("DELETE FROM contact_tags")
    db.execute("DELETE FROM contacts")
    stamp = "2026-01-01 00:00:00.000000"
    chunk = 100_000
    for start in range(1, count + 1, chunk):
        ids = range(start, min(start + chunk, count + 1))
        db.executemany(
            "INSERT INTO contacts (id, name, city, custom, is_lead, merged_into_id, created_at,"
            " updated_at) VALUES (?, ?, ?, '{}', 0, ?, ?, ?)",
            [
                (i, f"Клиент {i}", CITIES[i % 10], 1 if i % 50 == 0 else None, stamp, stamp)
                for i in ids
            ],
        )
        db.executemany(
            "INSERT INTO contact_tags (contact_id, tag) VALUES (?, 'vip')",
            [(i,) for i in ids if i % 3 == 0],
        )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def _members(store: ActivityStore, definition: dict[str, Any]) -> tuple[float, list[int]]:
    node = parse(definition)
    started = time.perf_counter()
    found = [i async for i in segment_sql.members(store.engine, node)]
    return time.perf_counter() - started, found


def _raw(path: Path, sql: str) -> tuple[float, list[int]]:
    db = sqlite3.connect(path)
    started = time.perf_counter()
    found = [row[0] for row in db.execute(sql)]
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed, found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/segbench"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"contacts-{args.contacts}.db"
    store = await ActivityStore.open(f"sqlite:///{path}")
    started = time.perf_counter()
    _fill(path, args.contacts)
    print(f"{args.contacts:,} contacts ready in {time.perf_counter() - started:.1f} s ({path})")
    try:
        for label, definition, sql in FILTERS:
            ours = [await _members(store, definition) for _ in range(args.repeat)]
            raw = [_raw(path, sql) for _ in range(args.repeat)]
            assert ours[0][1] == raw[0][1], label
            best, best_raw = min(t for t, _ in ours), min(t for t, _ in raw)
            verdict = "met" if best < GOAL_S else "NOT met"
            print(
                f"{label}: {len(ours[0][1]):,} members — members() {best:.3f} s,"
                f" raw SELECT {best_raw:.3f} s ({best / best_raw:.1f}×);"
                f" goal < {GOAL_S:g} s: {verdict}"
            )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
