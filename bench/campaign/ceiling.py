"""Where the CPU of one campaign letter goes, part by part (not part of the test suite).

    .venv/bin/python -m bench.campaign.ceiling [--recipients 10000] [--connections 4]

The goal of `bench.campaign.sending` is a campaign at ≥ 70 % of raw aiosmtplib's rate on
the same connections. The SMTP server (aiosmtpd, its own process) takes one of the
machine's two cores; the campaign's process gets the other, and its Python (engine,
sender, store: one process, one GIL — SQLAlchemy's async statements run in the event
loop's thread, only SQLite's C code in aiosqlite's thread) runs on that one core. When
that core is the limit (a quiet machine: raw sending then keeps it ~90 % busy), rates go
as 1 / CPU per letter, so at 70 % of raw's rate a letter may cost at most raw's CPU per
letter / 0.7 in all; on a loaded machine the server's share of a core limits both, and
the ratio of rates says little. This prints that budget next to what each part costs,
each measured alone as CPU time of this process (all threads) per letter:

- raw aiosmtplib: the same rendered letter sent in a loop on the open connections;
- `SmtpSender` alone into the server: the campaign's letters (already rendered) sent
  through the pool, nothing stored — building the letter, the SMTP transaction, the
  per-recipient result and the outgoing touch;
- the same `SmtpSender` steps with the server cut out (a transaction that accepts at
  once): what the sender adds of its own, without sockets;
- rendering: the recipient's variables, the template filled, the message made;
- the store: claiming the recipients in batches (as the engine does) and writing each
  one's outcome with its outgoing touch in transactions of the engine's size;
- the whole engine with the server cut out (claim, render, send, record), the sum check.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiosmtplib

from bench.campaign.sending import (
    ENGINE,
    GOAL,
    accepting_smtp_server,
    email_settings,
    fill_sqlite,
    letter,
    limit,
    migrate,
    started_campaign,
)
from hub.activity import ActivityStore
from hub.activity.repos.campaigns import Claimed, Outcome, RecipientState
from hub.activity.writer import collector_paused
from hub.campaigns.engine import CampaignWorker, message_id_of, template_of, variables_of
from hub.campaigns.message import Recipient, message_for
from hub.channels.email.factory import build_sender
from hub.channels.email.smtp_sender import SmtpSender
from hub.model import Channel, OutgoingMessage, Touch
from hub.templates import compile_template


class Accepting(SmtpSender):
    """The sender with its server cut out: every transaction is accepted at once."""

    async def _transaction(
        self, envelope_from: str, recipients: Sequence[str], raw: bytes
    ) -> dict[str, aiosmtplib.SMTPResponse]:
        return {}


def accepting(port: int, connections: int) -> Accepting:
    """The bench's sender, configured as `bench.campaign.sending` builds it, cut from its server."""
    real = build_sender(email_settings(port, connections), "ivan")
    return Accepting(
        account=real.account, url=real.url, password=None, mailbox=real.mailbox,
        from_address=real.from_address, pool_size=real.pool_size, timeout=real.timeout,
        max_attempts=real.max_attempts, retry_base_s=real.retry_base_s,
        message_id_domain=real.message_id_domain,
    )  # fmt: skip


def per_letter(n: int, started: float) -> float:
    """µs of CPU of this process per letter since `started` (a `time.process_time`)."""
    return 1e6 * (time.process_time() - started) / n


async def open_campaign(directory: Path, n: int) -> tuple[ActivityStore, int]:
    """A fresh store of N contacts and the bench's campaign over them, started."""
    url = f"sqlite:///{directory}/bench.db"
    await migrate(url)
    fill_sqlite(directory / "bench.db", n)
    store = await ActivityStore.open(url)
    campaign_id, _ = await started_campaign(store, n)
    return store, campaign_id


async def claim_all(store: ActivityStore, campaign_id: int, worker_id: int) -> list[Claimed]:
    out: list[Claimed] = []
    while batch := await store.campaigns.claim(campaign_id, worker_id, ENGINE.batch_size):
        out.extend(batch)
    return out


async def rendered(store: ActivityStore, campaign_id: int, claimed: list[Claimed]) -> tuple[float, list[OutgoingMessage]]:
    """(µs per letter, the messages): variables, the template filled, the message made."""
    campaign = await store.campaigns.get(campaign_id)
    version = await store.templates.version(campaign.template_id, campaign.template_version)
    compiled = compile_template(template_of(version))
    started = time.process_time()
    messages = []
    for item in claimed:
        message_id = message_id_of(campaign.id, item, "acme.ru")
        recipient = Recipient(campaign_id=campaign.id, recipient_id=item.id, contact_id=item.contact_id,
                              channel=Channel.EMAIL, address=item.address, message_id=message_id)  # fmt: skip
        filled = compiled.render(variables_of(item, campaign, ENGINE.company_name))
        messages.append(message_for(recipient, filled))
    return per_letter(len(claimed), started), messages


async def sent(sender: SmtpSender, messages: list[OutgoingMessage]) -> tuple[float, list[Touch]]:
    """(µs per letter, the touches): the messages sent `ENGINE.window` at a time."""
    touches: list[Touch] = []
    started = time.process_time()
    for first in range(0, len(messages), ENGINE.window):
        results = await asyncio.gather(
            *(sender.send(m) for m in messages[first : first + ENGINE.window])
        )
        touches.extend(r.touch for r in results if r.touch is not None)
    spent = per_letter(len(messages), started)
    await sender.close()
    return spent, touches


async def stored(
    store: ActivityStore, campaign_id: int, worker_id: int, claimed: list[Claimed], touches: list[Touch]
) -> float:
    """µs per letter of the outcomes and touches written as the engine flushes them."""
    flush_at = max(min(ENGINE.batch_size, ENGINE.window), ENGINE.window // 2)
    started = time.process_time()
    for first in range(0, len(claimed), flush_at):
        chunk = range(first, min(len(claimed), first + flush_at))
        outcomes = [Outcome(id=claimed[i].id, state=RecipientState.SENT, message_id=touches[i].external_id, code=250)
                    for i in chunk]  # fmt: skip
        items = [dataclasses.replace(touches[i], metadata={**touches[i].metadata, "campaign_id": campaign_id,
                                                           "campaign_recipient_id": claimed[i].id})
                 for i in chunk]  # fmt: skip
        with collector_paused():  # as `CampaignWorker._flush` writes them
            async with store.writing() as work:
                await store.campaigns.record(work.conn, worker_id, outcomes)
                await store.write(work, items)
    return per_letter(len(claimed), started)


async def engine(directory: Path, n: int, sender: SmtpSender) -> float:
    """µs per letter of a whole campaign through `sender` (claim, render, send, record)."""
    store, campaign_id = await open_campaign(directory, n)
    try:
        worker = CampaignWorker(store, sender, ENGINE, message_id_domain="acme.ru")
        started = time.process_time()
        await worker.run(campaign_id)
        spent = per_letter(n, started)
        await sender.close()
        assert (await store.campaigns.counts(campaign_id))["sent"] == n
        return spent
    finally:
        await store.close()


async def parts(directory: Path, n: int, port: int, connections: int) -> dict[str, float]:
    """µs of CPU per letter of each part alone, on one store of N recipients."""
    store, campaign_id = await open_campaign(directory, n)
    try:
        worker_id = await store.campaigns.register_worker("bench", 0)
        started = time.process_time()
        claimed = await claim_all(store, campaign_id, worker_id)
        claiming = per_letter(n, started)
        assert len(claimed) == n
        render, messages = await rendered(store, campaign_id, claimed)
        smtp, _ = await sent(build_sender(email_settings(port, connections), "ivan"), messages)
        own, touches = await sent(accepting(port, connections), messages)
        writing = await stored(store, campaign_id, worker_id, claimed, touches)
    finally:
        await store.close()
    return {"render": render, "smtp": smtp, "own": own, "claim": claiming, "write": writing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    n, connections = args.recipients, args.connections
    root = Path(tempfile.mkdtemp(prefix="touchhub-campceiling-"))
    try:
        with accepting_smtp_server() as port:
            raw = letter()
            before = asyncio.run(limit(port, n, connections, raw))
            part = asyncio.run(parts(root / "parts", n, port, connections))
            whole_cut = asyncio.run(engine(root / "cut", n, accepting(port, connections)))
            whole = asyncio.run(engine(root / "whole", n, build_sender(email_settings(port, connections), "ivan")))
            after = asyncio.run(limit(port, n, connections, raw))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rate = n / ((before.wall + after.wall) / 2)
    raw_cpu = 1e6 * (before.cpu + after.cpu) / (2 * n)
    budget = raw_cpu / GOAL
    store = part["claim"] + part["write"]
    total = part["smtp"] + part["render"] + store
    print(f"raw aiosmtplib on {connections} connections: {rate:,.0f}/s (mean of before and after);"
          f" its CPU {raw_cpu:,.0f} µs per letter")
    print(f"budget at {GOAL:.0%} of raw's rate when this process's core is the limit (raw's CPU / {GOAL}):"
          f" {budget:,.0f} µs of CPU per letter, engine, sender and store; {budget - raw_cpu:,.0f} µs"
          " beside what raw sending itself spends")
    print(f"  smtp    {part['smtp']:7.0f} µs  SmtpSender alone into the server (letter built, sent, result, touch)")
    print(f"  smtp    {part['own']:7.0f} µs  of which its own steps, the server cut out (no sockets)")
    print(f"  render  {part['render']:7.0f} µs  variables, template filled, message made")
    print(f"  store   {part['claim']:7.0f} µs  claiming ({ENGINE.batch_size} a batch: marked sending, committed, people read)")
    print(f"  store   {part['write']:7.0f} µs  outcome row and outgoing touch (with roll-ups), committed"
          f" {max(min(ENGINE.batch_size, ENGINE.window), ENGINE.window // 2)} a transaction")
    print(f"  sum     {total:7.0f} µs  smtp + render + store, each alone ({total / budget:.1f}× the budget)")
    print(f"  engine  {whole_cut:7.0f} µs  the whole campaign, the server cut out")
    print(f"  engine  {whole:7.0f} µs  the whole campaign into the server (bench.campaign.sending's figure,"
          f" {whole / budget:.1f}× the budget)")
    print(f"ceiling when this process's core is the limit: raw's CPU / the campaign's = {raw_cpu / whole:.0%}"
          f" of raw's rate; with nothing stored (SmtpSender alone) {raw_cpu / part['smtp']:.0%}")

if __name__ == "__main__":
    main()
