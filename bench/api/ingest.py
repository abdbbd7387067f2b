"""A steady writer beside the API under load: records `--rate` touches a second into the store.

    python -m bench.api.ingest --db URL --rate 1000 --seconds 25

Run by `bench.api.run` as its own process, as the capture adapters or an import would
be; prints one JSON line with what it wrote and the longest batch it took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import timedelta

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch, utcnow

#: Touches are written once a tick, as the capture writer's batch window would gather them.
TICK_S = 0.1


def touches(n: int, run: str, start: int) -> list[Touch]:
    """`n` answered inbound calls from a rotating set of client phones."""
    now = utcnow()
    return [
        Touch(
            source="bench:ingest",
            external_id=f"{run}-{start + i}",
            channel=Channel.CALL,
            direction=Direction.IN,
            status=Status.ANSWERED,
            occurred_at=now - timedelta(seconds=i % 60),
            duration_seconds=30.0,
            counterparts=(
                Address(kind=AddressKind.PHONE, value=f"+7495{(start + i) % 5000:07}"),
            ),
        )
        for i in range(n)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    store = await ActivityStore.open(args.db)
    run, written, longest = uuid.uuid4().hex[:8], 0, 0.0
    per_tick = max(1, round(args.rate * TICK_S))
    started = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - started) < args.seconds:
            due = int(elapsed / TICK_S + 1) * per_tick
            if due > written:
                t0 = time.perf_counter()
                await store.record(touches(due - written, run, written))
                longest = max(longest, time.perf_counter() - t0)
                written = due
            await asyncio.sleep(max(0.0, (written / per_tick) * TICK_S - elapsed))
    finally:
        await store.close()
    took = time.perf_counter() - started
    print(
        json.dumps(
            {"touches": written, "per_s": round(written / took), "longest_batch_s": longest}
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
