"""Hangup-to-row latency: from the byte of a call's last Hangup leaving the PBX to its row
committed in the store, under load.

Run from the project root: `.venv/bin/python -m bench.ami.latency [--calls N] [--rate X]`.
The recorded calls of shared/ami are renumbered and interleaved 50 at a time and played
by the loopback AMI server at `--rate` events/s into a running `AmiAdapter` whose sink is
the store's batch writer on SQLite (default batching). A busy office PBX — 100 calls in
progress, a call starting every second, ~60 events per call (VarSet, Newexten, CEL and Cdr
included) — sends about 60 events/s; the default rate is ten times that. The baseline in
the same run is the event loop's own delay: how late a timer set for the same moment fires.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from hub.activity import ActivityStore
from hub.model import SinkItem, Touch
from hub.telephony.ami_adapter import AmiAdapter
from hub.telephony.settings import PbxSettings
from tests.helpers.ami_server import (
    LOCAL_TRUNK_PATTERN,
    PJSIP_TRUNK_PATTERN,
    RECORDED_INTERNAL_PATTERN,
    FakeAmiServer,
    ServerPlan,
    events_only,
    frames,
    interleave,
    recordings,
    renumber,
)

BUSY_PBX_EVENTS_PER_S = 60
DEFAULT_RATE = 10 * BUSY_PBX_EVENTS_PER_S
DEFAULT_CALLS = 2_000
AT_ONCE = 50


def build(calls: int) -> tuple[list[bytes], dict[int, str]]:
    """The frames to play and, for each call's last Hangup frame, its Linkedid."""
    bases = [events_only(r.read()) for r in recordings() if not r.is_outage]
    one_call = [b for b in bases if b.count(b"Event: Hangup\r\n") > 0]
    streams = [renumber(one_call[i % len(one_call)], i) for i in range(calls)]
    played = [f for f in frames(b"".join(interleave(streams, AT_ONCE))) if f.strip()]
    last_hangup: dict[str, int] = {}
    for index, frame in enumerate(played):
        if frame.startswith(b"Event: Hangup\r\n"):
            for line in frame.split(b"\r\n"):
                if line.startswith(b"Linkedid: "):
                    last_hangup[line[10:].decode()] = index
    return played, {index: lid for lid, index in last_hangup.items()}


class TimedServer(FakeAmiServer):
    """Plays the frames at a fixed rate and notes when each call's last Hangup was sent."""

    def __init__(self, played: Sequence[bytes], ends: dict[int, str], rate: float) -> None:
        super().__init__(plan=ServerPlan(streams=[b""]))
        self.played, self.ends, self.rate = played, ends, rate
        self.sent_at: dict[str, float] = {}
        self.timer_lag: list[float] = []

    def _start_stream(self, conn: int, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._play(writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, frame in enumerate(self.played):
            due = start + index / self.rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                self.timer_lag.append(loop.time() - due)
            writer.write(frame)
            if index in self.ends:
                await writer.drain()
                self.sent_at[self.ends[index]] = time.monotonic()
        await writer.drain()


class TimedStore:
    """The store as the writer's target, noting when each call's row was committed."""

    def __init__(self, store: ActivityStore) -> None:
        self.store = store
        self.committed_at: dict[str, float] = {}
        self.expected = 0
        self.all_in = asyncio.Event()

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.store.engine

    def prepare(self, touch: Touch):  # type: ignore[no-untyped-def]
        return self.store.prepare(touch)

    async def apply(self, items: Sequence[SinkItem], prepared=None, *, conn=None):  # type: ignore[no-untyped-def]
        result = await self.store.apply(items, prepared, conn=conn)
        now = time.monotonic()
        for item in items:
            if isinstance(item, Touch):
                self.committed_at.setdefault(item.external_id, now)
        if len(self.committed_at) >= self.expected:
            self.all_in.set()
        return result

    async def get_checkpoint(self, source: str, key: str) -> str | None:
        return await self.store.get_checkpoint(source, key)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(calls: int, rate: float) -> None:
    played, ends = build(calls)
    with tempfile.TemporaryDirectory() as tmp:
        store = await ActivityStore.open(f"sqlite:///{Path(tmp) / 'latency.db'}")
        timed = TimedStore(store)
        timed.expected = len(ends)
        from hub.activity.writer import BatchWriter

        writer = BatchWriter(timed, store.options.writer)  # type: ignore[arg-type]
        await writer.start()
        server = TimedServer(played, ends, rate)
        await server.start()
        pbx = PbxSettings.model_validate(
            {
                "ami": server.url,
                "password": SecretStr(server.secret),
                "internal_pattern": RECORDED_INTERNAL_PATTERN,
                "trunk_pattern": f"{LOCAL_TRUNK_PATTERN}|{PJSIP_TRUNK_PATTERN}",
            }
        )
        adapter = AmiAdapter("bench", pbx)
        task = asyncio.create_task(adapter.run(writer))
        try:
            await asyncio.wait_for(timed.all_in.wait(), len(played) / rate + 60)
        except TimeoutError:
            print(f"only {len(timed.committed_at)} of {len(ends)} calls were written in time")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await writer.stop()
        await server.stop()
        await store.close()
    lat = [
        (timed.committed_at[lid] - sent) * 1000
        for lid, sent in server.sent_at.items()
        if lid in timed.committed_at
    ]
    lag = [x * 1000 for x in server.timer_lag] or [0.0]
    print(f"calls {len(ends)}, events {len(played)} at {rate:.0f}/s "
          f"({rate / BUSY_PBX_EVENTS_PER_S:.0f}x a busy PBX), rows {len(lat)}")
    print(f"hangup → committed row: p50 {statistics.median(lat):.1f} ms, "
          f"p99 {pct(lat, 0.99):.1f} ms, max {max(lat):.1f} ms (goal p99 < 1000 ms)")
    print(f"baseline, the event loop's own timer lag in the same run: p50 "
          f"{statistics.median(lag):.2f} ms, p99 {pct(lag, 0.99):.2f} ms")
    print(f"ratio p99 latency / p99 loop lag: {pct(lat, 0.99) / max(pct(lag, 0.99), 0.01):.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="events per second")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rate))
