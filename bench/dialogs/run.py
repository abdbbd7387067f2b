"""Messenger ingest with the dialogs projection against the same touches as SMS.

`python -m bench.dialogs.run`: 20,000 inbound messages over 2,000 chats, recorded in
batches of 1,000 through `ActivityStore.apply` on SQLite; the same touches as SMS (no
dialog work) in the same run are the baseline. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from datetime import timedelta

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch, utcnow

MESSAGES = 20_000
BATCH = 1_000
CHATS = 2_000


def touches(channel: Channel, n: int, chats: int) -> list[Touch]:
    """`n` inbound messages spread over `chats` chats, in time order."""
    t0 = utcnow() - timedelta(days=1)
    made = []
    for i in range(n):
        chat = 100_000 + i % chats
        made.append(
            Touch(
                source="telegram:support",
                external_id=f"m{i}",
                channel=Channel.MESSENGER,
                direction=Direction.IN,
                status=Status.RECEIVED,
                occurred_at=t0 + timedelta(seconds=i),
                counterparts=(Address(kind=AddressKind.TELEGRAM, value=str(chat)),),
                preview=f"message {i}",
            )
        )
        if channel is Channel.SMS:
            phone = Address(kind=AddressKind.PHONE, value=f"+7916{chat:07d}")
            made[-1] = replace(made[-1], channel=Channel.SMS, counterparts=(phone,))
    return made


async def rate(channel: Channel, n: int, chats: int, batch: int) -> float:
    """Touches per second recorded into a fresh SQLite store."""
    with tempfile.TemporaryDirectory() as folder:
        store = await ActivityStore.open(f"sqlite:///{folder}/bench.db")
        try:
            items = touches(channel, n, chats)
            start = time.perf_counter()
            for i in range(0, n, batch):
                await store.apply(items[i : i + batch])
            return n / (time.perf_counter() - start)
        finally:
            await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--chats", type=int, default=CHATS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.rounds):
        messenger = await rate(Channel.MESSENGER, args.messages, args.chats, args.batch)
        sms = await rate(Channel.SMS, args.messages, args.chats, args.batch)
        print(f"messenger {messenger:,.0f}/s  same touches as SMS {sms:,.0f}/s  ratio {messenger / sms:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
