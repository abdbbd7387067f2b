"""Where the CPU of one SMS sent over SMPP goes, part by part (not part of the test suite).

    .venv/bin/python -m bench.sms.ceiling [--messages 10000] [--batch 500]

The SMPP goal of `bench.sms.run` compares the windowed sender with the SMSC's own
acceptance rate, measured by a bare client that writes pre-encoded submit_sm PDUs and keeps
nothing. On a machine where the SMSC takes one core, the sender's process gets the other:
at 80 % of the SMSC's rate its whole CPU per message, sender and store together (one
process, one GIL), must fit in 1 / (0.8 × rate). This prints that budget next to what each
part costs, each measured alone as CPU time of this process (all threads):

- the bare client of the reference, per message (its CPU, not its rate);
- the sender's synchronous steps: the submit_sm built and encoded, the items for the
  store made (touch, outbox entry, checkpoints, status update), responses and receipts
  decoded and read, the receipt matcher;
- the store (SQLite, the batch writer, `--batch` messages per flush) taking each item the
  sender puts per message: the queued touch, the outbox's "sending" entry, the SMSC id's
  index entry, the entry removed, "sent", the receipt's "delivered" — alone, and all
  together the way a send puts them (touch and entry in one batch, the rest in later ones).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hub.channels.sms.outbox import Outbox, Pending, PendingState
from hub.channels.sms.outgoing import check_message, outgoing_touch
from hub.channels.sms.smpp_incoming import SmppReceipt, interpret
from hub.channels.sms.smpp_pdu import (
    DeliverSm,
    SmppDecoder,
    SubmitSm,
    SubmitSmResp,
    encode,
    frame,
)
from hub.channels.sms.smpp_receipts import ReceiptMatcher
from hub.channels.sms.smpp_submit import Addressing, build_submits
from hub.model import Checkpoint, OutgoingMessage, Status, StatusUpdate, utcnow
from tests.helpers.smsc import running_smsc

from .run import message, open_store, receipt_pdus, smsc_limit, unbound_sender

#: what a send puts into the store, in order; the touch and the entry are committed first
ITEMS = ("touch", "sending", "gwid", "settled", "sent", "delivered")


def cpu_us(n: int, run: Callable[[], object]) -> float:
    """Best of three: µs of CPU per message of `run` over `n` messages."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return 1e6 * best / n


def sender_steps(n: int) -> dict[str, float]:
    """µs of CPU per message of each synchronous step of the sender (no I/O, no store)."""
    messages = [message(i, "c") for i in range(n)]
    steps: dict[str, float] = {}

    def submits() -> None:
        for i, m in enumerate(messages):
            pdu = build_submits(m.body, Addressing(source_addr="Shop", destination_addr=m.to[0].value), reference=i)[0]
            frame(SubmitSm.command_id, i + 1, pdu.encode_body())

    def items() -> None:
        for i, m in enumerate(messages):
            mid = check_message(m)
            outgoing_touch(m, mid, source="sms:bench", gateway="bench", sender="Shop")
            entry = Pending.of(m, mid, PendingState.SENDING, owner="bench").to_json()
            Checkpoint(source="sms:bench/outbox", key=mid, value=entry)
            Checkpoint(source="sms:bench", key="gwid:" + format(i, "x"), value=f"1 {mid}")
            Checkpoint(source="sms:bench/outbox", key=mid, value="")
            StatusUpdate(source="sms:bench", external_id=mid, status=Status.SENT, at=utcnow(), detail="accepted")

    responses = b"".join(
        encode(SubmitSmResp(sequence_number=i + 1, message_id=format(0x100000 + i, "x"))) for i in range(n)
    )
    receipts = receipt_pdus(n)

    def decode(data: bytes) -> list[object]:
        decoder = SmppDecoder()
        out: list[object] = []
        for offset in range(0, len(data), 65_536):
            out.extend(decoder.feed(data[offset : offset + 65_536]))
        return out

    delivered = [p for p in decode(receipts) if isinstance(p, DeliverSm)]
    read = [r for r in (interpret(p) for p in delivered) if isinstance(r, SmppReceipt)]

    def match() -> None:
        matcher = ReceiptMatcher(max_known=n + 1)
        for i in range(n):
            matcher.expect(f"c-{i}", 1)
            matcher.sent(f"c-{i}", format(0x100000 + i, "x"))
        for r in read:
            matcher.knows(r.message_id)
            matcher.receipt(r, 0.0)

    steps["submit_sm built and encoded"] = cpu_us(n, submits)
    steps["the items for the store made (touch, outbox entry, checkpoints, status)"] = cpu_us(n, items)
    steps["submit_sm_resp decoded"] = cpu_us(n, lambda: decode(responses))
    steps["receipt deliver_sm decoded"] = cpu_us(n, lambda: decode(receipts))
    steps["receipt read (TLVs, id:/stat: text)"] = cpu_us(n, lambda: [interpret(p) for p in delivered])
    steps["receipt matcher (expect, sent, knows, receipt)"] = cpu_us(n, match)
    return steps


async def store_items(n: int, batch: int, kinds: tuple[str, ...], directory: Path) -> float:
    """µs of CPU per message for the store to commit `kinds` of each of `n` messages."""
    store = await open_store(directory)
    writer = store.writer()
    await writer.start()
    _, sender = unbound_sender(writer)
    outbox = Outbox("sms:bench", writer)
    messages = [message(i, "s") for i in range(n)]
    if "touch" not in kinds:  # the messages the other items are about (not timed)
        for i, m in enumerate(messages):
            await writer.put(sender.outgoing_touch(m, f"s-{i}"))
        await writer.flush()

    async def put(kind: str, i: int, m: OutgoingMessage) -> None:
        mid = f"s-{i}"
        if kind == "touch":
            await writer.put(sender.outgoing_touch(m, mid))
        elif kind == "sending":
            await outbox.sending(m, mid)
        elif kind == "gwid":
            await outbox.took(format(0x100000 + i, "x"), mid, 1)
        elif kind == "settled":
            await outbox.settled(mid)
        else:
            status = Status.SENT if kind == "sent" else Status.DELIVERED
            await writer.put(StatusUpdate(source="sms:bench", external_id=mid, status=status, at=utcnow(), detail=kind))

    started = time.process_time()
    for first in range(0, n, batch):
        chunk = range(first, min(n, first + batch))
        if kinds == ITEMS:  # as a send puts them: touch and entry committed, then the rest
            for i in chunk:
                await put("touch", i, messages[i])
                await put("sending", i, messages[i])
            await writer.flush()
            for i in chunk:
                for kind in ITEMS[2:]:
                    await put(kind, i, messages[i])
        else:
            for i in chunk:
                for kind in kinds:
                    await put(kind, i, messages[i])
        await writer.flush()
    spent = time.process_time() - started
    await writer.stop()
    await store.close()
    return 1e6 * spent / n


async def main(args: argparse.Namespace) -> None:
    n = args.messages
    root = Path(tempfile.mkdtemp(prefix="touchhub-smsceiling-"))
    async with running_smsc({"quiet": True}) as smsc:
        started = time.process_time()
        rate = await smsc_limit(smsc, n, 10)
        bare = 1e6 * (time.process_time() - started) / n
    budget = 1e6 / (0.8 * rate)
    print(f"SMSC acceptance (bare client, window 10): {rate:,.0f}/s; the bare client's CPU {bare:,.1f} µs per message")
    print(f"budget at 80 % of that rate, one process: {budget:,.1f} µs of CPU per message, sender and store")
    steps = sender_steps(n)
    for label, us in steps.items():
        print(f"  sender  {us:7.1f} µs  {label}")
    print(f"  sender  {sum(steps.values()):7.1f} µs  these synchronous steps together (asyncio, sockets not counted)")
    for kind in ITEMS:
        us = await store_items(n, args.batch, (kind,), root / kind)
        print(f"  store   {us:7.1f} µs  {kind}")
    together = await store_items(n, args.batch, ITEMS, root / "all")
    print(f"  store   {together:7.1f} µs  the six items together, as a send puts them")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="messages per flush of the store's writer")
    asyncio.run(main(parser.parse_args()))
