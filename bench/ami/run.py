"""AMI ingest benchmark: parser + call assembler against the `bytes.split` limit, and memory.

Run from the project root: `.venv/bin/python bench/ami/run.py [--events N]`. The recorded
scenarios in shared/ami are repeated with fresh ids and interleaved 50 calls at a time, cut
into 64 KiB socket-sized chunks before timing starts.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.telephony.ami_protocol import AmiMessage, AmiParser  # noqa: E402
from hub.telephony.call_assembler import (  # noqa: E402
    ASSEMBLER_EVENTS,
    AssemblerConfig,
    CallAssembler,
)
from tests.helpers.ami_server import (  # noqa: E402
    LOCAL_TRUNK_PATTERN,
    PJSIP_TRUNK_PATTERN,
    RECORDED_INTERNAL_PATTERN,
    events_only,
    frames,
    interleave,
    recordings,
    renumber,
)

DEFAULT_EVENTS = 1_000_000
AT_ONCE = 50
CHUNK = 65_536
IN_FLIGHT = 10_000
ROUNDS = 2
CONFIG = AssemblerConfig(
    internal_pattern=RECORDED_INTERNAL_PATTERN,
    trunk_pattern=f"{LOCAL_TRUNK_PATTERN}|{PJSIP_TRUNK_PATTERN}",
)


def build_stream(min_events: int) -> tuple[list[bytes], int, int]:
    """Socket-sized chunks holding at least `min_events` events; (chunks, events, calls)."""
    bases = [events_only(r.read()) for r in recordings() if not r.is_outage]
    per_set = sum(len(frames(b)) for b in bases)
    copies = -(-min_events // per_set)
    streams = [renumber(base, c) for c in range(copies) for base in bases]
    data = b"".join(interleave(streams, AT_ONCE))
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    return chunks, data.count(b"\r\n\r\n"), len(streams)


def run_split(chunks: list[bytes]) -> tuple[float, int]:
    """The limit: split the same bytes into messages with `bytes.split`, nothing else."""
    count = 0
    rest = b""
    start = time.perf_counter()
    for chunk in chunks:
        parts = (rest + chunk).split(b"\r\n\r\n")
        rest = parts.pop()
        count += len(parts)
    return time.perf_counter() - start, count


def run_parse(chunks: list[bytes]) -> tuple[float, int]:
    """Parser only: bytes to `AmiMessage`s."""
    parser = AmiParser(expect_banner=False)
    count = 0
    start = time.perf_counter()
    for chunk in chunks:
        count += len(parser.feed(chunk))
    return time.perf_counter() - start, count


def run_full(chunks: list[bytes], *, skip: bool) -> tuple[float, int]:
    """Parser + assembler: bytes to finished calls (`skip`: events it ignores left unparsed)."""
    parser = AmiParser(expect_banner=False, wanted_events=ASSEMBLER_EVENTS if skip else None)
    assembler = CallAssembler(CONFIG)
    feed = assembler.feed
    calls = 0
    start = time.perf_counter()
    for chunk in chunks:
        for item in parser.feed(chunk):
            if isinstance(item, AmiMessage):
                calls += len(feed(item))
    elapsed = time.perf_counter() - start
    return elapsed, calls + len(assembler.close_all())


def memory_in_flight(calls: int) -> tuple[int, int, int]:
    """Peak and held bytes (tracemalloc) with `calls` calls up at once; (peak, current, open)."""
    bases = [events_only(r.read()) for r in recordings() if not r.is_outage]
    heads = []
    for c in range(calls):
        frs = frames(renumber(bases[c % len(bases)], 1_000 + c))
        cut = next((i for i, f in enumerate(frs) if f.startswith(b"Event: Hangup")), len(frs))
        heads.append(b"".join(frs[:cut]))
    data = b"".join(heads)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    del heads, data
    gc.collect()
    tracemalloc.start()
    parser = AmiParser(expect_banner=False)
    assembler = CallAssembler(CONFIG)
    for chunk in chunks:
        for item in parser.feed(chunk):
            if isinstance(item, AmiMessage):
                assembler.feed(item)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, current, assembler.calls_in_flight


def main() -> None:
    """Build the stream, time each stage (best of ROUNDS), print events/s, ratio and memory."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    ap.add_argument("--in-flight", type=int, default=IN_FLIGHT)
    args = ap.parse_args()

    t0 = time.perf_counter()
    chunks, events, calls = build_stream(args.events)
    size = sum(len(c) for c in chunks)
    print(
        f"stream: {events:,} events, {calls:,} calls, {size / 1e6:.0f} MB, "
        f"{AT_ONCE} calls interleaved (built in {time.perf_counter() - t0:.1f}s)"
    )
    split = min(run_split(chunks)[0] for _ in range(ROUNDS))
    parse = min(run_parse(chunks)[0] for _ in range(ROUNDS))
    every = [run_full(chunks, skip=False) for _ in range(ROUNDS)]
    skipping = [run_full(chunks, skip=True) for _ in range(ROUNDS)]
    for _elapsed, finished in every + skipping:
        assert finished == calls, f"{finished} calls finished, {calls} expected"
    full = min(r[0] for r in every)
    fast = min(r[0] for r in skipping)
    print(f"bytes.split limit            : {events / split:>10,.0f} events/s  ({split:.2f}s)")
    print(f"parse only (every event)     : {events / parse:>10,.0f} events/s  ({parse:.2f}s)")
    print(f"parse + assemble (every event): {events / full:>9,.0f} events/s  ({full:.2f}s)")
    print(f"parse + assemble (skip unused): {events / fast:>9,.0f} events/s  ({fast:.2f}s)")
    print(
        f"ratio to the split limit: every event 1/{full / split:.1f}, skipping 1/{fast / split:.1f}"
    )
    print(f"calls assembled: {calls:,} in every run (each call once)")
    peak, current, open_calls = memory_in_flight(args.in_flight)
    print(
        f"memory with {open_calls:,} calls in flight: peak {peak / 1e6:.1f} MB, "
        f"held {current / 1e6:.1f} MB ({current / max(open_calls, 1) / 1e3:.1f} kB per call)"
    )


if __name__ == "__main__":
    main()
