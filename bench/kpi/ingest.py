"""What the KPI roll-ups cost an ingest batch: `store.record()` of 1,000 mixed touches on
SQLite, with the time spent in `rollup.adjust` measured separately.

    .venv/bin/python -m bench.kpi.ingest [--batches 10] [--before /path/to/old_rollup.py]

Every batch is new touches (calls in and out, answered and missed, letters, messenger
messages, meetings) for 20 employees and 2,000 known clients, in time order, followed by
a replay of 100 of them with a changed status (updates: old row out, new row in).
`--before` times another `adjust` (e.g. the previous version of rollup.py, saved
elsewhere) on an identical store for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.activity import ActivityStore
from hub.activity.rollups import adjust as rollup
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch

EMPLOYEES = 20
CONTACTS = 2_000
BATCH = 1_000


def _touch(rnd: random.Random, n: int, at: datetime, replay: bool = False) -> Touch:
    employee = Address(kind=AddressKind.EXTENSION, value=str(100 + n % EMPLOYEES))
    phone = Address(kind=AddressKind.PHONE, value=f"+7999{rnd.randrange(CONTACTS):07d}")
    kind = n % 10
    if kind < 5:
        direction = Direction.IN if kind % 2 else Direction.OUT
        status = Status.ANSWERED if rnd.random() < 0.8 or replay else Status.MISSED
        if direction is Direction.OUT and status is Status.MISSED:
            status = Status.NO_ANSWER
        return Touch(
            source="bench",
            external_id=f"c{n}",
            channel=Channel.CALL,
            direction=direction,
            status=status,
            occurred_at=at,
            talk_seconds=60.0 if status is Status.ANSWERED else None,
            counterparts=(phone,),
            employee=employee,
        )
    if kind < 7:
        return Touch(
            source="bench",
            external_id=f"e{n}",
            channel=Channel.EMAIL,
            direction=Direction.OUT,
            status=Status.DELIVERED if replay else Status.SENT,
            occurred_at=at,
            counterparts=(
                Address(kind=AddressKind.EMAIL, value=f"c{rnd.randrange(CONTACTS)}@x.ru"),
            ),
            employee=Address(kind=AddressKind.EMAIL, value=f"e{n % EMPLOYEES}@hub.example"),
        )
    if kind < 9:
        return Touch(
            source="bench",
            external_id=f"m{n}",
            channel=Channel.MESSENGER,
            direction=Direction.OUT,
            status=Status.READ if replay else Status.SENT,
            occurred_at=at,
            counterparts=(phone,),
            employee=employee,
        )
    return Touch(
        source="bench",
        external_id=f"t{n}",
        channel=Channel.MEETING,
        direction=Direction.OUT,
        status=Status.COMPLETED if replay else Status.PLANNED,
        occurred_at=at,
        due_at=at + timedelta(hours=2),
        completed_at=at + timedelta(hours=3) if replay else None,
        result="agreed" if replay else None,
        duration_seconds=3600.0,
        counterparts=(phone,),
        employee=employee,
    )


async def _store(folder: Path, name: str) -> ActivityStore:
    store = await ActivityStore.open(f"sqlite:///{folder / name}")
    for i in range(EMPLOYEES):
        await store.employees.add(
            f"E{i}",
            addresses=[
                Address(kind=AddressKind.EXTENSION, value=str(100 + i)),
                Address(kind=AddressKind.EMAIL, value=f"e{i}@hub.example"),
            ],
        )
    # clients: one warm-up batch creates them as leads
    warm = [
        Touch(
            source="warm",
            external_id=f"w{i}",
            channel=Channel.CALL,
            direction=Direction.OUT,
            status=Status.ANSWERED,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            counterparts=(
                Address(kind=AddressKind.PHONE, value=f"+7999{i:07d}"),
                Address(kind=AddressKind.EMAIL, value=f"c{i}@x.ru"),
            ),
        )
        for i in range(CONTACTS)
    ]
    await store.record(warm)
    return store


async def run(batches: int, adjust: Callable[..., Awaitable[None]]) -> dict[str, float]:
    """Median seconds per 1,000-touch batch: the whole record() and its adjust() calls."""
    spent: list[float] = []
    real = adjust

    async def timed(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        await real(*args, **kwargs)
        spent.append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as folder:
        store = await _store(Path(folder), "ingest.db")
        saved = rollup.adjust
        setattr(rollup, "adjust", timed)  # the KPI roll-up projection calls adjust.adjust  # noqa: B010
        rnd = random.Random(7)
        record_s: list[float] = []
        adjust_s: list[float] = []
        at = datetime(2026, 3, 1, 8, tzinfo=UTC)
        try:
            for b in range(batches):
                touches = []
                for i in range(BATCH):
                    at += timedelta(seconds=17)
                    touches.append(_touch(rnd, b * BATCH + i, at))
                replays = [
                    _touch(rnd, b * BATCH + i, touches[i].occurred_at, replay=True)
                    for i in range(0, BATCH, 10)
                ]
                spent.clear()
                started = time.perf_counter()
                await store.record(touches)
                await store.record(replays)
                record_s.append(time.perf_counter() - started)
                adjust_s.append(sum(spent))
        finally:
            setattr(rollup, "adjust", saved)  # noqa: B010
            await store.close()
    return {
        "record_s_per_batch": round(statistics.median(record_s), 4),
        "adjust_s_per_batch": round(statistics.median(adjust_s), 4),
    }


def _load_adjust(path: Path) -> Callable[..., Awaitable[None]]:
    """`adjust` of another version of rollup.py, its tables on a metadata of their own."""
    source = path.read_text(encoding="utf-8").replace(
        "from hub.activity.schema import Id, activities, metadata",
        "from hub.activity.schema import Id, activities\nfrom sqlalchemy import MetaData\n"
        "metadata = MetaData()",
    )
    namespace: dict[str, Any] = {"__name__": "rollup_before"}
    exec(compile(source, str(path), "exec"), namespace)
    fn: Callable[..., Awaitable[None]] = namespace["adjust"]
    return fn


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args()
    if args.before is not None:
        print("before:", await run(args.batches, _load_adjust(args.before)), flush=True)
    current = rollup.adjust
    print("now:   ", await run(args.batches, current), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
