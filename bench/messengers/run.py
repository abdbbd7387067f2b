"""Telegram ingest benchmark: updates from the fake Bot API into the store, against the
store's own ingest rate for the same touches, in the same run.

    .venv/bin/python -m bench.messengers.run [--updates 20000] [--chats 2000] [--rounds 5]

The fake Bot API (`tests/helpers/fake_telegram.py`) runs in a process of its own, holding
N text updates from `--chats` private chats; the hub's side is this process.

(a) store: the same updates parsed to touches beforehand, put into a fresh SQLite store's
    writer (default batching) and flushed — the store's own ingest rate.
(c) store by 100: the same touches put 100 at a time, each hundred followed by a checkpoint
    and a flush — the store at the granularity long polling allows (getUpdates returns at
    most 100 updates, and they may be confirmed only once committed).
(b) telegram: a fresh store, `TelegramCapture.sync_once` polling the fake with getUpdates
    batches of 100. A full batch is spooled (kept on the spool's shelf before the next
    poll confirms it: on this SQLite store, appended to a file in the folder beside the
    database, decision 0084) and held batches are recorded together with the offset, up
    to 4,900 updates a transaction (decisions 0064, 0083); the writer's transactions are
    counted, and the spool must be empty at the end.

Before the rounds the process's heap is set aside from the collector (`hub.heap.settle`),
as `touchhub serve` does once started. Rounds run (a), (c), (b). Goal: (b) ≥ 70 % of (a).
`ratio` is the median of each round's (b)/(a): a round's two phases run seconds apart,
so the ratio of each pair cancels the machine's drift (rates here move ±15 % from one
minute to the next), which a ratio of the two medians (`ratio_of_medians`, also printed)
does not. (b) against (c) is the adapter's own cost (HTTP, JSON, parsing) beside the
store's. Every phase also reports the CPU this process (all its threads) spent per item,
and (b) the CPU of the fake's process per update (its whole life, start included);
`cpu_ratio` is the median of each round's (a) CPU over (b) CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub import heap
from hub.activity import ActivityStore
from hub.channels.messengers.factory import build_capture
from hub.channels.messengers.settings import MessengersSettings, TelegramBotSettings
from hub.channels.messengers.telegram_spool import SPOOL_PREFIX
from hub.channels.messengers.telegram_updates import parse_update
from hub.model import Checkpoint, Touch
from tests.helpers.fake_telegram import TOKEN, running_fake_telegram

BOT = "bench"
#: Updates getUpdates returns at most (the Bot API's limit).
BATCH = 100


def make_updates(count: int, chats: int) -> list[dict[str, Any]]:
    """`count` text messages from `chats` private chats, as the Bot API writes them."""
    now = int(time.time()) - 3600
    updates = []
    for n in range(1, count + 1):
        chat = 10_000_000 + n % chats
        updates.append(
            {
                "update_id": n,
                "message": {
                    "message_id": n,
                    "from": {"id": chat, "is_bot": False, "first_name": "Client", "last_name": str(chat)},
                    "chat": {"id": chat, "type": "private", "first_name": "Client"},
                    "date": now + n // 10,
                    "text": f"Здравствуйте! Вопрос номер {n} по заказу",
                },
            }
        )
    return updates


async def serve_fake(count: int, chats: int) -> None:
    """The fake Bot API with the updates loaded; prints its URL, serves until stdin closes."""
    async with running_fake_telegram() as fake:
        fake.updates = make_updates(count, chats)
        print(fake.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def start_fake(count: int, chats: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.messengers.run", "--serve-fake", str(count), "--chats", str(chats)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


@dataclass(frozen=True, slots=True)
class Rate:
    """Items per second of wall time, and this process's CPU (every thread) per item."""

    per_s: float
    cpu_us: float


class Clock:
    """Wall and process CPU time from `start()` to `rate(n)`."""

    def start(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rate(self, count: int) -> Rate:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return Rate(count / wall, cpu / count * 1e6)


async def store_rate(folder: Path, touches: list[Touch]) -> Rate:
    store = await ActivityStore.open(f"sqlite:///{folder}/store.db")
    clock = Clock()
    try:
        async with store.writer() as writer:
            clock.start()
            for touch in touches:
                await writer.put(touch)
            await writer.flush()
            rate = clock.rate(len(touches))
    finally:
        await store.close()
    return rate


async def store_rate_by(folder: Path, touches: list[Touch], every: int) -> Rate:
    store = await ActivityStore.open(f"sqlite:///{folder}/store-by.db")
    clock = Clock()
    try:
        async with store.writer() as writer:
            clock.start()
            for n, touch in enumerate(touches, start=1):
                await writer.put(touch)
                if n % every == 0 or n == len(touches):
                    await writer.put(Checkpoint(source="bench", key="offset", value=str(n)))
                    await writer.flush()
            rate = clock.rate(len(touches))
    finally:
        await store.close()
    return rate


async def telegram_rate(folder: Path, url: str, count: int) -> tuple[Rate, int]:
    """Polling into a fresh store, and the transactions the writer committed."""
    settings = MessengersSettings(
        telegram={BOT: TelegramBotSettings.model_validate({"token": TOKEN, "api_url": url, "poll_timeout_s": 0})}
    )
    store = await ActivityStore.open(f"sqlite:///{folder}/telegram.db")
    try:
        adapter = build_capture(settings, BOT)
        clock = Clock()
        async with store.writer() as writer:
            clock.start()
            await adapter.sync_once(writer)
            rate = clock.rate(count)
            transactions = writer.stats.batches
        written = await store.activities.count()
        assert written == count, f"{written} of {count} updates recorded"
        left = list(await store.checkpoints_under(f"telegram:{BOT}", SPOOL_PREFIX))
        folder = store.spool_folder(f"telegram:{BOT}")
        left += list(folder.iterdir()) if folder is not None and folder.is_dir() else []
        assert not left, f"{len(left)} batches left in the spool"
    finally:
        await store.close()
    return rate, transactions



async def main(args: argparse.Namespace) -> None:
    updates = make_updates(args.updates, args.chats)
    touches = [item for u in updates for item in parse_update(u, bot=BOT).items if isinstance(item, Touch)]
    heap.settle()  # as `touchhub serve` does once started (here the bench's own data too)
    store_runs: list[Rate] = []
    by_runs: list[Rate] = []
    telegram_runs: list[Rate] = []
    fake_cpu_us: list[float] = []
    transactions = 0
    for round_no in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="tgbench-") as tmp:
            store_runs.append(await store_rate(Path(tmp), touches))
            by_runs.append(await store_rate_by(Path(tmp), touches, BATCH))
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc, url = start_fake(args.updates, args.chats)
            try:
                rate, transactions = await telegram_rate(Path(tmp), url, args.updates)
                telegram_runs.append(rate)
            finally:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(10)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            fake_s = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
            fake_cpu_us.append(fake_s / args.updates * 1e6)
        print(
            f"round {round_no}: store {store_runs[-1].per_s:,.0f} touches/s "
            f"({store_runs[-1].cpu_us:.0f} µs CPU each), "
            f"store by {BATCH} {by_runs[-1].per_s:,.0f} touches/s ({by_runs[-1].cpu_us:.0f} µs), "
            f"telegram {telegram_runs[-1].per_s:,.0f} updates/s ({telegram_runs[-1].cpu_us:.0f} µs; "
            f"the fake's process {fake_cpu_us[-1]:.0f} µs)",
            flush=True,
        )
    store, telegram = _median(store_runs), _median(telegram_runs)
    by = _median(by_runs)
    paired = [t.per_s / s.per_s for s, t in zip(store_runs, telegram_runs, strict=True)]
    paired_cpu = [s.cpu_us / t.cpu_us for s, t in zip(store_runs, telegram_runs, strict=True)]
    print(
        json.dumps(
            {
                "updates": args.updates,
                "chats": args.chats,
                "store_touches_per_s": round(store.per_s),
                "telegram_updates_per_s": round(telegram.per_s),
                "ratio": round(statistics.median(paired), 3),
                "round_ratios": [round(r, 3) for r in paired],
                "ratio_of_medians": round(telegram.per_s / store.per_s, 3),
                f"store_by_{BATCH}_touches_per_s": round(by.per_s),
                f"ratio_to_store_by_{BATCH}": round(telegram.per_s / by.per_s, 3),
                "store_cpu_us": round(store.cpu_us),
                f"store_by_{BATCH}_cpu_us": round(by.cpu_us),
                "telegram_cpu_us": round(telegram.cpu_us),
                "cpu_ratio": round(statistics.median(paired_cpu), 3),
                "fake_cpu_us": round(statistics.median(fake_cpu_us)),
                "telegram_transactions": transactions,
                "goal": 0.7,
            }
        )
    )


def _median(runs: list[Rate]) -> Rate:
    """The median rate and the median CPU per item (each on its own)."""
    return Rate(statistics.median(r.per_s for r in runs), statistics.median(r.cpu_us for r in runs))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake is not None:
        asyncio.run(serve_fake(args.serve_fake, args.chats))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
