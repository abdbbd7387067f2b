"""Ingest benchmark: touches/s through the real record path vs a naive baseline and the raw limit.

    .venv/bin/python -m bench.ingest.run [--touches 100000] [--naive 3000] [--updates 100000] [--backend sqlite|postgresql|both]

Three producers push touches (10% repeats of earlier keys) into the store's batching
writer; in the same run we measure (a) a naive baseline committing each touch on its
own through `ActivityStore.record`, (b) the limit: the same activity rows inserted with
the raw driver's executemany in one transaction (sqlite3 / asyncpg) into the same
schema. Prints touches/s and the ratios. Then, on a store holding those touches, (c)
status updates/s: delivery reports, read receipts and failures for the letters and SMS
(10% repeated reports, 5% for messages the store never saw) through the same writer.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.activity import ActivityStore
from hub.activity.resolve import normalise_touch
from hub.activity.store import touch_row
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)
from tests.helpers.postgres import running_postgres

PRODUCERS = 3
REPEAT_SHARE = 0.10
EMPLOYEES = 50
NUMBERS = 20_000


def make_touches(n: int, seed: int = 1) -> list[Touch]:
    """n touches across calls, letters and SMS; 10% repeat an earlier key with a new status."""
    rng = random.Random(seed)
    start = utcnow() - timedelta(days=30)
    touches: list[Touch] = []
    for i in range(n):
        if i > 100 and rng.random() < REPEAT_SHARE:
            old = touches[rng.randrange(len(touches))]
            touches.append(Touch(source=old.source, external_id=old.external_id, channel=old.channel,
                                 direction=old.direction, status=Status.ANSWERED if old.channel is Channel.CALL
                                 else Status.DELIVERED, occurred_at=old.occurred_at, counterparts=old.counterparts,
                                 employee=old.employee, talk_seconds=30.0))
            continue
        kind = rng.random()
        at = start + timedelta(seconds=rng.randrange(30 * 86400))
        number = f"+7916{rng.randrange(NUMBERS):07d}"
        ext = str(100 + rng.randrange(EMPLOYEES))
        if kind < 0.6:
            touches.append(Touch(source="ami:office", external_id=f"{i}.1", channel=Channel.CALL,
                                 direction=Direction.IN if rng.random() < 0.5 else Direction.OUT,
                                 status=Status.MISSED if rng.random() < 0.1 else Status.ANSWERED, occurred_at=at,
                                 counterparts=(Address(kind=AddressKind.PHONE, value=number),),
                                 employee=Address(kind=AddressKind.EXTENSION, value=ext),
                                 ring_seconds=5.0, talk_seconds=60.0, metadata={"extensions_rung": [ext]}))
        elif kind < 0.85:
            touches.append(Touch(source="email", external_id=f"<{i}@bench>", channel=Channel.EMAIL,
                                 direction=Direction.OUT, status=Status.SENT, occurred_at=at, subject="Offer",
                                 counterparts=(Address(kind=AddressKind.EMAIL, value=f"c{rng.randrange(NUMBERS)}@ex.ru"),),
                                 employee=Address(kind=AddressKind.EMAIL, value=f"e{ext}@acme.ru")))
        else:
            touches.append(Touch(source="sms:kannel", external_id=f"s{i}", channel=Channel.SMS,
                                 direction=Direction.OUT, status=Status.SENT, occurred_at=at, preview="Hello",
                                 counterparts=(Address(kind=AddressKind.PHONE, value=number),)))
    return touches


async def fresh_store(url: str) -> ActivityStore:
    store = await ActivityStore.open(url)
    for e in range(EMPLOYEES):
        ext = str(100 + e)
        await store.employees.add(f"E{ext}", addresses=[Address(kind=AddressKind.EXTENSION, value=ext),
                                                        Address(kind=AddressKind.EMAIL, value=f"e{ext}@acme.ru")])
    return store


async def through_writer(url: str, touches: list[Touch]) -> float:
    """The real path: 3 producers → BatchWriter → record; returns touches/s."""
    store = await fresh_store(url)
    chunks = [touches[i::PRODUCERS] for i in range(PRODUCERS)]
    writer = store.writer()
    start = time.perf_counter()
    async with writer:

        async def produce(chunk: list[Touch]) -> None:
            for touch in chunk:
                await writer.put(touch)

        await asyncio.gather(*(produce(c) for c in chunks))
    elapsed = time.perf_counter() - start
    await store.close()
    return len(touches) / elapsed


def make_updates(touches: list[Touch], n: int, seed: int = 2) -> list[StatusUpdate]:
    """n status updates for the letters and SMS among `touches`: delivered, read, failed and
    late "sent" reports in random order, 10% repeats of an earlier report, 5% unknown ids."""
    rng = random.Random(seed)
    messages = [t for t in touches if t.channel in (Channel.EMAIL, Channel.SMS)]
    statuses = [Status.DELIVERED, Status.DELIVERED, Status.READ, Status.SENT, Status.FAILED]
    updates: list[StatusUpdate] = []
    for i in range(n):
        if updates and rng.random() < REPEAT_SHARE:
            updates.append(updates[rng.randrange(len(updates))])
            continue
        if rng.random() < 0.05:
            updates.append(StatusUpdate(source="sms:kannel", external_id=f"gone{i}", status=Status.DELIVERED,
                                        at=utcnow()))
            continue
        msg = messages[rng.randrange(len(messages))]
        updates.append(StatusUpdate(source=msg.source, external_id=msg.external_id, status=rng.choice(statuses),
                                    at=msg.occurred_at + timedelta(seconds=rng.randrange(1, 3600)),
                                    detail="550 no such user" if rng.random() < 0.02 else None))
    return updates


async def updates_through_writer(url: str, touches: list[Touch], updates: list[StatusUpdate]) -> float:
    """Status updates through the writer (3 producers) on a store holding `touches`."""
    store = await fresh_store(url)
    async with store.writer() as writer:
        for touch in touches:
            await writer.put(touch)
    chunks = [updates[i::PRODUCERS] for i in range(PRODUCERS)]
    writer = store.writer()
    start = time.perf_counter()
    async with writer:

        async def produce(chunk: list[StatusUpdate]) -> None:
            for update in chunk:
                await writer.put(update)

        await asyncio.gather(*(produce(c) for c in chunks))
    elapsed = time.perf_counter() - start
    await store.close()
    return len(updates) / elapsed


async def naive(url: str, touches: list[Touch]) -> float:
    """Baseline: every touch committed on its own through `record`."""
    store = await fresh_store(url)
    start = time.perf_counter()
    for touch in touches:
        await store.record([touch])
    elapsed = time.perf_counter() - start
    await store.close()
    return len(touches) / elapsed


def activity_rows(touches: list[Touch]) -> list[dict[str, Any]]:
    """The rows the store would write (unique keys, no resolution), for the raw limit."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    now = utcnow()
    for touch in touches:
        norm = normalise_touch(touch.employee, touch.counterparts, "RU")
        row = touch_row(touch, norm, None, None)
        row.update(created_at=now, updated_at=now)
        rows[touch.key] = row
    return list(rows.values())


COLUMNS = ["source", "external_id", "channel", "direction", "status", "occurred_at", "answered_at", "ended_at",
           "duration_s", "ring_s", "talk_s", "contact_id", "employee_id", "counterpart", "subject", "preview",
           "thread_key", "due_at", "completed_at", "result", "is_client", "flags", "meta", "created_at",
           "updated_at"]


def _plain(row: dict[str, Any]) -> tuple[Any, ...]:
    import json

    out = []
    for c in COLUMNS:
        v = row[c]
        if c == "meta":
            v = json.dumps(v)
        elif hasattr(v, "isoformat"):
            v = v.replace(tzinfo=None).isoformat(sep=" ")
        out.append(v)
    return tuple(out)


async def raw_limit_sqlite(path: Path, touches: list[Touch]) -> float:
    store = await ActivityStore.open(f"sqlite:///{path}")  # same schema and indexes
    await store.close()
    params = [_plain(r) for r in activity_rows(touches)]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO activities ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    start = time.perf_counter()
    with conn:
        conn.executemany(sql, params)
    elapsed = time.perf_counter() - start
    conn.close()
    return len(touches) / elapsed


async def raw_limit_postgres(url: str, touches: list[Touch]) -> float:
    import json

    import asyncpg  # type: ignore[import-untyped]

    store = await ActivityStore.open(url)
    await store.close()
    rows = activity_rows(touches)
    params = []
    for r in rows:
        params.append(tuple(json.dumps(r[c]) if c == "meta" else
                            (r[c].replace(tzinfo=None) if hasattr(r[c], "isoformat") else r[c]) for c in COLUMNS))
    conn = await asyncpg.connect(url)
    sql = f"INSERT INTO activities ({', '.join(COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(COLUMNS)))})"
    start = time.perf_counter()
    async with conn.transaction():
        await conn.executemany(sql, params)
    elapsed = time.perf_counter() - start
    await conn.close()
    return len(touches) / elapsed


async def bench_sqlite(touches: list[Touch], naive_n: int, updates: list[StatusUpdate],
                       tmp: Path) -> dict[str, float]:
    real = await through_writer(f"sqlite:///{tmp}/real.db", touches)
    base = await naive(f"sqlite:///{tmp}/naive.db", touches[:naive_n])
    limit = await raw_limit_sqlite(tmp / "raw.db", touches)
    figures = {"real": real, "naive": base, "limit": limit}
    if updates:
        figures["updates"] = await updates_through_writer(f"sqlite:///{tmp}/updates.db", touches, updates)
    return figures


async def bench_postgres(touches: list[Touch], naive_n: int, updates: list[StatusUpdate]) -> dict[str, float]:
    with running_postgres(durable=True) as server:
        real = await through_writer(server.create_database(), touches)
        base = await naive(server.create_database(), touches[:naive_n])
        limit = await raw_limit_postgres(server.create_database(), touches)
        figures = {"real": real, "naive": base, "limit": limit}
        if updates:
            figures["updates"] = await updates_through_writer(server.create_database(), touches, updates)
    return figures


def report(name: str, figures: dict[str, float]) -> None:
    print(f"\n{name}")
    print(f"  record() via writer, {PRODUCERS} producers : {figures['real']:>10,.0f} touches/s")
    print(f"  naive, one commit per touch       : {figures['naive']:>10,.0f} touches/s"
          f"   ratio {figures['real'] / figures['naive']:.1f}x (goal >= 30x)")
    print(f"  limit, raw executemany, one tx    : {figures['limit']:>10,.0f} rows/s"
          f"   ratio {figures['real'] / figures['limit']:.0%} of the limit (goal >= 50% on SQLite)")
    if "updates" in figures:
        print(f"  status updates via writer         : {figures['updates']:>10,.0f} updates/s"
              f"   {figures['updates'] / figures['real']:.1f}x the touch rate (goal >= 1x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--touches", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=3_000, help="touches for the naive baseline (it is slow)")
    parser.add_argument("--updates", type=int, default=100_000, help="status updates after the touches (0: none)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    touches = make_touches(args.touches)
    updates = make_updates(touches, args.updates) if args.updates else []
    print(f"{len(touches):,} touches ({REPEAT_SHARE:.0%} repeats), {PRODUCERS} producers; "
          f"{len(updates):,} status updates")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            report("SQLite (WAL, synchronous=NORMAL)",
                   asyncio.run(bench_sqlite(touches, args.naive, updates, Path(tmp))))
    if args.backend in ("postgresql", "both"):
        report("PostgreSQL (asyncpg, fsync on)", asyncio.run(bench_postgres(touches, args.naive, updates)))


if __name__ == "__main__":
    main()
