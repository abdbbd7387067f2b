"""Telegram ingest benchmark: updates from the fake Bot API into the store, against the
store's own ingest rate for the same touches, in the same run.

    .venv/bin/python -m bench.messengers.run [--updates 20000] [--chats 2000] [--rounds 3]

The fake Bot API (`tests/helpers/fake_telegram.py`) runs in a process of its own, holding
N text updates from `--chats` private chats; the hub's side is this process.

(a) store: the same updates parsed to touches beforehand, put into a fresh SQLite store's
    writer (default batching) and flushed — the store's own ingest rate.
(c) store by 100: the same touches put 100 at a time, each hundred followed by a checkpoint
    and a flush — the store at the granularity long polling allows (getUpdates returns at
    most 100 updates, and they may be confirmed only once committed).
(b) telegram: a fresh store, `TelegramCapture.sync_once` polling the fake with getUpdates
    batches of 100 (parse, put, checkpoint, flush before the next poll confirms them); the
    writer's transactions are counted (one per getUpdates batch, its offset included).

Rounds run (a), (c), (b); medians are compared. Goal: (b) ≥ 70 % of (a); (b) against (c)
is the adapter's own cost (HTTP, JSON, parsing) beside the store's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.activity import ActivityStore
from hub.channels.messengers.factory import build_capture
from hub.channels.messengers.settings import MessengersSettings, TelegramBotSettings
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


async def store_rate(folder: Path, touches: list[Touch]) -> float:
    store = await ActivityStore.open(f"sqlite:///{folder}/store.db")
    try:
        async with store.writer() as writer:
            started = time.perf_counter()
            for touch in touches:
                await writer.put(touch)
            await writer.flush()
            elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return len(touches) / elapsed


async def store_rate_by(folder: Path, touches: list[Touch], every: int) -> float:
    store = await ActivityStore.open(f"sqlite:///{folder}/store-by.db")
    try:
        async with store.writer() as writer:
            started = time.perf_counter()
            for n, touch in enumerate(touches, start=1):
                await writer.put(touch)
                if n % every == 0 or n == len(touches):
                    await writer.put(Checkpoint(source="bench", key="offset", value=str(n)))
                    await writer.flush()
            elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return len(touches) / elapsed


async def telegram_rate(folder: Path, url: str, count: int) -> tuple[float, int]:
    """Updates/s of polling into a fresh store, and the transactions the writer committed."""
    settings = MessengersSettings(
        telegram={BOT: TelegramBotSettings.model_validate({"token": TOKEN, "api_url": url, "poll_timeout_s": 0})}
    )
    store = await ActivityStore.open(f"sqlite:///{folder}/telegram.db")
    try:
        adapter = build_capture(settings, BOT)
        async with store.writer() as writer:
            started = time.perf_counter()
            await adapter.sync_once(writer)
            elapsed = time.perf_counter() - started
            transactions = writer.stats.batches
        written = await store.activities.count()
        assert written == count, f"{written} of {count} updates recorded"
    finally:
        await store.close()
    return count / elapsed, transactions



async def main(args: argparse.Namespace) -> None:
    updates = make_updates(args.updates, args.chats)
    touches = [item for u in updates for item in parse_update(u, bot=BOT).items if isinstance(item, Touch)]
    store_runs: list[float] = []
    by_runs: list[float] = []
    telegram_runs: list[float] = []
    transactions = 0
    for round_no in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="tgbench-") as tmp:
            store_runs.append(await store_rate(Path(tmp), touches))
            by_runs.append(await store_rate_by(Path(tmp), touches, BATCH))
            proc, url = start_fake(args.updates, args.chats)
            try:
                rate, transactions = await telegram_rate(Path(tmp), url, args.updates)
                telegram_runs.append(rate)
            finally:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(10)
        print(
            f"round {round_no}: store {store_runs[-1]:,.0f} touches/s, "
            f"store by {BATCH} {by_runs[-1]:,.0f} touches/s, "
            f"telegram {telegram_runs[-1]:,.0f} updates/s",
            flush=True,
        )
    store, telegram = statistics.median(store_runs), statistics.median(telegram_runs)
    by = statistics.median(by_runs)
    print(
        json.dumps(
            {
                "updates": args.updates,
                "chats": args.chats,
                "store_touches_per_s": round(store),
                "telegram_updates_per_s": round(telegram),
                "ratio": round(telegram / store, 3),
                f"store_by_{BATCH}_touches_per_s": round(by),
                f"ratio_to_store_by_{BATCH}": round(telegram / by, 3),
                "telegram_transactions": transactions,
                "goal": 0.7,
            }
        )
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake is not None:
        asyncio.run(serve_fake(args.serve_fake, args.chats))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
