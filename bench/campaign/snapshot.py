"""Segment → recipient snapshot: starting a campaign to 100,000 of 1,000,000 contacts.

    .venv/bin/python -m bench.campaign.snapshot [--contacts 1000000] [--repeat 3]
                                                [--backend both|sqlite|postgresql]

Contacts are written once with plain executemany (SQLite) or COPY (PostgreSQL): ten
cities, 10 % in Казань, each contact with one e-mail address but 2 % of them (no address),
5 % of the members' addresses suppressed (unsubscribed). Each repeat creates a campaign to
"city = Казань" and times `CampaignManager.start()`: one ``INSERT … SELECT`` of the
compiled segment with the skip reasons, the duplicate check and the counts, committed.
The raw ``SELECT count(*)`` of the same members is timed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text

from hub.activity import ActivityStore
from hub.campaigns.manager import CampaignManager, CampaignSpec
from hub.model import utcnow
from tests.helpers.postgres import running_postgres

CITIES = ("Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск",
          "Самара", "Омск", "Уфа", "Пермь", "Воронеж")  # fmt: skip
GOAL_S = 2.0
RAW = (
    "SELECT count(*) FROM contacts WHERE merged_into_id IS NULL AND city = 'Казань'"
)


def _rows(n: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    now = utcnow().replace(tzinfo=None)
    people = [(i, f"Клиент {i}", CITIES[i % 10], "{}", False, now, now) for i in range(1, n + 1)]
    emails = [(i, "email", f"c{i}@client.test", now) for i in range(1, n + 1) if i % 500 != 2]
    blocked = [("email", f"c{i}@client.test", "unsubscribed", now) for i in range(52, n + 1, 200)]
    return people, emails, blocked


def fill_sqlite(path: Path, n: int) -> None:
    people, emails, blocked = _rows(n)
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO contacts (id, name, city, custom, is_lead, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", people)  # fmt: skip
    db.executemany(
        "INSERT INTO identities (contact_id, kind, value, created_at) VALUES (?, ?, ?, ?)", emails
    )
    db.executemany(
        "INSERT INTO suppressions (channel, address, reason, created_at) VALUES (?, ?, ?, ?)",
        blocked,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def fill_postgresql(url: str, n: int) -> None:
    import asyncpg  # COPY is the bench's own business

    people, emails, blocked = _rows(n)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "contacts",
            columns=["id", "name", "city", "custom", "is_lead", "created_at", "updated_at"],
            records=people,
        )
        await conn.copy_records_to_table(
            "identities", columns=["contact_id", "kind", "value", "created_at"], records=emails
        )
        await conn.copy_records_to_table(
            "suppressions", columns=["channel", "address", "reason", "created_at"], records=blocked
        )
        await conn.execute(f"SELECT setval('contacts_id_seq', {n})")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def snapshots(url: str, repeat: int) -> tuple[list[float], list[float], int]:
    store = await ActivityStore.open(url)
    try:
        template = await store.templates.create(name="t", channel="email", created_by="b")
        await store.templates.add_version(
            template.id, subject="Hi {{ contact.name }}", html="<p>Hi</p>", text=None, created_by="b"
        )
        manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
        ours: list[float] = []
        raw: list[float] = []
        pending = 0
        for i in range(repeat):
            row = await manager.create(
                CampaignSpec(name=f"c{i}", channel="email", template_id=template.id,
                             segment={"field": "city", "op": "eq", "value": "Казань"},
                             sender="ivan"),
                created_by="bench",
            )  # fmt: skip
            started = time.perf_counter()
            snapshot = await manager.start(row.id)
            ours.append(time.perf_counter() - started)
            pending = snapshot.pending
            async with store.engine.connect() as conn:
                started = time.perf_counter()
                members = (await conn.execute(text(RAW))).scalar_one()
                raw.append(time.perf_counter() - started)
            assert snapshot.total == members, (snapshot, members)
        return ours, raw, pending
    finally:
        await store.close()


async def _migrate(url: str) -> None:
    store = await ActivityStore.open(url)
    await store.close()


def run(backend: str, contacts: int, repeat: int) -> None:
    with ExitStack() as stack:
        started = time.perf_counter()
        if backend == "sqlite":
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="snapbench-")))
            url = f"sqlite:///{directory}/bench.db"
            asyncio.run(_migrate(url))
            fill_sqlite(directory / "bench.db", contacts)
        else:
            server = stack.enter_context(running_postgres(durable=True))
            url = server.create_database()
            asyncio.run(_migrate(url))
            asyncio.run(fill_postgresql(url, contacts))
        print(f"{backend}: {contacts:,} contacts written in {time.perf_counter() - started:.0f} s")
        ours, raw, pending = asyncio.run(snapshots(url, repeat))
    best = min(ours)
    print(
        f"{backend}: snapshot of {contacts // 10:,} members ({pending:,} pending) — best"
        f" {best:.2f} s, median {statistics.median(ours):.2f} s (runs: "
        f"{', '.join(f'{t:.2f}' for t in ours)}); raw count(*) {min(raw):.3f} s;"
        f" goal < {GOAL_S:g} s: {'met' if best < GOAL_S else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if args.backend in (backend, "both"):
            run(backend, args.contacts, args.repeat)


if __name__ == "__main__":
    main()
