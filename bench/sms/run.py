"""SMS benchmarks, each against its baseline in the same run (not part of the test suite).

    .venv/bin/python -m bench.sms.run [--messages 10000] [--window 10] [--concurrency 200]
                                      [--only smpp|kannel|dlr]

(a) SMPP: N messages through `SmppSender` (touch committed first, window 10, receipts
    matched and recorded) against the npm `smpp` SMSC, vs the same sender with a window
    of 1 (one PDU at a time), vs the SMSC's own acceptance rate: a bare client on the same
    kind of connection (one bind, the same window) writing pre-encoded submit_sm PDUs and
    answering receipts, no store. The bare client runs right before and right after the
    windowed sender and their mean is the reference (the machine's load moves both).
    Also shown: the windowed sender into a sink that keeps nothing (the sender's own cost,
    without the store). Goal: windowed ≥ 80 % of the acceptance rate.
(b) DLRs into the store: N receipt deliver_sm PDUs (bytes) decoded, matched to their
    messages and written as status updates by the SQLite writer, until committed.
    Goal: ≥ 5,000/s. The SMPP run also reports receipts recorded end to end.
(c) Kannel: N messages through `KannelSender` (bearerbox + smsbox + fakesmsc) with
    `--concurrency` requests in flight vs one request at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from hub.activity import ActivityStore
from hub.activity.writer import BatchWriter
from hub.backoff import BackoffPolicy
from hub.channels.sms.kannel_sender import GatewayHooks, KannelEndpoint, KannelSender
from hub.channels.sms.limits import GatewayLimits
from hub.channels.sms.smpp_client import SmppSettings
from hub.channels.sms.smpp_pdu import (
    ESM_DELIVERY_RECEIPT,
    BindTransceiver,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    SmppDecoder,
    Tlvs,
    encode,
)
from hub.channels.sms.smpp_sender import SmppSender
from hub.channels.sms.smpp_session import SessionTimers, SmppSession
from hub.channels.sms.smpp_submit import Addressing, build_submits
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SinkItem
from tests.helpers.smsc import Smsc, running_smsc
from tests.integration.sms.kannel_server import PASSWORD, USERNAME, running_kannel

TEXT = "Ваш заказ 4821 готов к выдаче"  # one UCS-2 part


def hooks(name: str) -> GatewayHooks:
    return GatewayHooks(gateway=name, secret=None, opt_out_words=frozenset(), opt_out_reply=None)


def message(i: int, prefix: str) -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.SMS,
        to=(Address(kind=AddressKind.PHONE, value=f"7900{i % 1000:07d}"),),
        body=TEXT,
        message_id=f"{prefix}-{i}",
    )


async def open_store(directory: Path) -> ActivityStore:
    return await ActivityStore.open(f"sqlite:///{directory}/bench.db")


# ------------------------------------------------------------------ SMSC limit


async def smsc_limit(smsc: Smsc, n: int, window: int) -> float:
    """submit_sm/s the SMSC takes from a bare client: pre-encoded PDUs, `window` outstanding."""
    reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
    writer.write(encode(BindTransceiver(sequence_number=1, system_id="hub", password="secret")))
    await reader.readexactly(struct.unpack(">I", await reader.readexactly(4))[0] - 4)
    template = build_submits(TEXT, Addressing(source_addr="Shop", destination_addr="79001234567"), reference=1)[0]
    pdus = [encode(replace(template, sequence_number=i + 2)) for i in range(n)]
    free = asyncio.Semaphore(window)
    done = asyncio.Event()
    answered = 0

    async def read() -> None:
        nonlocal answered
        while answered < n:
            length, command, _status, seq = struct.unpack(">IIII", await reader.readexactly(16))
            if length > 16:
                await reader.readexactly(length - 16)
            if command == CommandId.SUBMIT_SM_RESP:
                answered += 1
                free.release()
            elif command == CommandId.DELIVER_SM:
                writer.write(encode(DeliverSmResp(sequence_number=seq)))
        done.set()

    started = time.perf_counter()
    reading = asyncio.create_task(read())
    for pdu in pdus:
        await free.acquire()
        writer.write(pdu)
        if free.locked():
            await writer.drain()
    await done.wait()
    elapsed = time.perf_counter() - started
    reading.cancel()
    writer.close()
    return n / elapsed


# ------------------------------------------------------------------ SMPP through the sender


@dataclass
class SmppFigures:
    sent_per_s: float
    receipts_per_s: float
    #: CPU time of this process (every thread) per message, send to receipt recorded:
    #: what the machine's load does not change much, unlike the rates
    cpu_us: float


class Discard:
    """A sink that keeps nothing: the sender's own cost, without the store."""

    async def put(self, item: SinkItem) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return None


async def smpp_run(
    smsc: Smsc, n: int, window: int, concurrency: int, directory: Path | None
) -> SmppFigures:
    """N messages through SmppSender over a supervised session, touches in a real store
    (or, with no `directory`, into a sink that keeps nothing)."""
    store = await open_store(directory) if directory is not None else None
    writer: BatchWriter | Discard = store.writer() if store is not None else Discard()
    if isinstance(writer, BatchWriter):
        await writer.start()
    session = SmppSession(
        gateway="bench",
        settings=SmppSettings(
            host="127.0.0.1", port=smsc.port, system_id="hub", password="secret", name="sms:bench",
            window=window, enquire_link_interval=0,
        ),
        hooks=hooks("bench"),
        timers=SessionTimers(bind_wait_s=10, retry=BackoffPolicy(initial_s=0.1, max_s=1)),
    )
    session.supervised = True
    session.sink = writer
    adapter = asyncio.create_task(session.run(writer))
    sender = SmppSender(session=session, sender="Shop")
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            result = await sender.send(message(i, f"w{window}"))
            assert result.ok, result

    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    sent_s = time.perf_counter() - started
    while True:  # every receipt matched and handed to the writer
        if session.health.counters.get("receipts", 0) >= n:
            break
        await asyncio.sleep(0.01)
    await writer.flush()
    receipts_s = time.perf_counter() - started
    cpu_us = 1e6 * (time.process_time() - cpu) / n
    adapter.cancel()
    await asyncio.gather(adapter, return_exceptions=True)
    if isinstance(writer, BatchWriter):
        await writer.stop()
    if store is not None:
        await store.close()
    return SmppFigures(sent_per_s=n / sent_s, receipts_per_s=n / receipts_s, cpu_us=cpu_us)


# ------------------------------------------------------------------ DLR processing


def receipt_pdus(n: int) -> bytes:
    """`n` delivery-receipt deliver_sm PDUs as the SMSC sends them, for messages dlr-0…"""
    return b"".join(
        encode(
            DeliverSm(
                sequence_number=i + 1,
                source_addr=f"7900{i % 1000:07d}",
                destination_addr="Shop",
                esm_class=ESM_DELIVERY_RECEIPT,
                short_message=(
                    f"id:{0x100000 + i} sub:001 dlvrd:001 submit date:2612061530 "
                    "done date:2612061531 stat:DELIVRD err:000 text:"
                ).encode(),
                tlvs=Tlvs(receipted_message_id=format(0x100000 + i, "x"), message_state=2),
            )
        )
        for i in range(n)
    )


def unbound_sender(writer: BatchWriter) -> tuple[SmppSession, SmppSender]:
    """A sender and its session writing into `writer`, never bound: for what runs without
    a connection (receipts fed as bytes, the store's share)."""
    session = SmppSession(
        gateway="bench",
        settings=SmppSettings(host="127.0.0.1", port=1, system_id="hub", password="x", name="sms:bench"),
        hooks=hooks("bench"),
        timers=SessionTimers(bind_wait_s=1, retry=BackoffPolicy(initial_s=1, max_s=1)),
    )
    session.sink = writer
    return session, SmppSender(session=session, sender="Shop")


async def dlr_processing(n: int, directory: Path) -> tuple[float, float]:
    """Receipt PDUs (bytes) → decoded → matched → status updates committed: per second, and
    µs of CPU per receipt."""
    store = await open_store(directory)
    writer = store.writer()
    await writer.start()
    session, sender = unbound_sender(writer)
    for i in range(n):  # the messages the receipts are about (not timed)
        await writer.put(sender.outgoing_touch(message(i, "dlr"), f"dlr-{i}"))
        session.matcher.expect(f"dlr-{i}", 1)
        session.matcher.sent(f"dlr-{i}", format(0x100000 + i, "x"))
    await writer.flush()
    data = receipt_pdus(n)
    decoder = SmppDecoder()
    started = time.perf_counter()
    cpu = time.process_time()
    for offset in range(0, len(data), 65_536):
        for pdu in decoder.feed(data[offset : offset + 65_536]):
            assert isinstance(pdu, DeliverSm)
            await session.deliver(pdu, writer)
    await writer.flush()
    elapsed = time.perf_counter() - started
    cpu_us = 1e6 * (time.process_time() - cpu) / n
    delivered = session.health.counters.get("receipts", 0)
    assert delivered == n, delivered
    await writer.stop()
    await store.close()
    return n / elapsed, cpu_us


# ------------------------------------------------------------------ Kannel


async def kannel_run(sendsms_port: int, n: int, concurrency: int, directory: Path) -> float:
    store = await open_store(directory)
    writer = store.writer()
    await writer.start()
    sender = KannelSender(
        endpoint=KannelEndpoint(host="127.0.0.1", port=sendsms_port, username=USERNAME, password=PASSWORD),
        hooks=hooks("kannel"),
        sender="1234",
        dlr_url=None,
        sink=writer,
        limits=GatewayLimits(timeout_s=30, max_attempts=3, retry=BackoffPolicy(initial_s=0.1, max_s=1)),
    )
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            result = await sender.send(message(i, f"k{concurrency}"))
            assert result.ok, result

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    await sender.close()
    await writer.stop()
    await store.close()
    return n / elapsed


def fresh(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir()
    return path


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="touchhub-smsbench-"))
    n = args.messages
    if args.only in (None, "smpp"):
        async with running_smsc({"quiet": True}) as smsc:
            limit = await smsc_limit(smsc, n, args.window)
            windowed = await smpp_run(smsc, n, args.window, args.concurrency, fresh(root, "w"))
            limit_after = await smsc_limit(smsc, n, args.window)
            discarded = await smpp_run(smsc, n, args.window, args.concurrency, None)
            single = await smpp_run(smsc, n, 1, args.concurrency, fresh(root, "one"))
        acceptance = (limit + limit_after) / 2
        print(
            f"SMSC acceptance (bare client, one bind, window {args.window}): "
            f"{limit:,.0f} before, {limit_after:,.0f} after the sender (mean {acceptance:,.0f}) submit_sm/s"
        )
        print(
            f"SmppSender window {args.window}: {windowed.sent_per_s:,.0f} messages/s "
            f"({100 * windowed.sent_per_s / acceptance:.0f} % of the SMSC's rate), "
            f"receipts recorded end to end {windowed.receipts_per_s:,.0f}/s; "
            f"{windowed.cpu_us:,.0f} µs of CPU per message"
        )
        print(
            f"SmppSender window {args.window} into a sink that keeps nothing: "
            f"{discarded.sent_per_s:,.0f} messages/s ({100 * discarded.sent_per_s / acceptance:.0f} %); "
            f"{discarded.cpu_us:,.0f} µs of CPU per message"
        )
        print(
            f"SmppSender one PDU at a time: {single.sent_per_s:,.0f} messages/s; "
            f"window {args.window} is {windowed.sent_per_s / single.sent_per_s:.1f}x that"
        )
    if args.only in (None, "dlr"):
        dlr, dlr_cpu = await dlr_processing(n, fresh(root, "dlr"))
        print(
            f"DLR processing into the store: {dlr:,.0f} receipts/s (goal ≥ 5,000/s); "
            f"{dlr_cpu:,.0f} µs of CPU per receipt"
        )
    if args.only in (None, "kannel"):
        with running_kannel("http://127.0.0.1:9/none", ("79001234567", "1234", "hi")) as kannel:
            port = int(kannel.sendsms_url.split(":")[2].split("/")[0])
            parallel = await kannel_run(port, n, args.kannel_concurrency, fresh(root, "kp"))
            serial = await kannel_run(port, n, 1, fresh(root, "ks"))
        print(
            f"Kannel: {parallel:,.0f} messages/s with {args.kannel_concurrency} requests in flight, "
            f"{serial:,.0f}/s one request at a time ({parallel / serial:.1f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=200, help="sends in flight through the SMPP sender")
    parser.add_argument("--kannel-concurrency", type=int, default=10)
    parser.add_argument("--only", choices=("smpp", "dlr", "kannel"), default=None)
    asyncio.run(main(parser.parse_args()))
