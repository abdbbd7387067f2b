"""A campaign of N recipients to a loopback SMTP server against raw aiosmtplib's limit.

    .venv/bin/python -m bench.campaign.sending [--recipients 100000] [--connections 4]
                                               [--backend sqlite|postgresql]
                                               [--profile FILE]

The server is aiosmtpd in its own process (it accepts everything). The limit: raw
aiosmtplib on `--connections` open connections sending the same rendered letter in a
loop, nothing else. The campaign: a segment of N contacts snapshotted, then
`CampaignWorker` claiming, rendering, sending through `SmtpSender` (a pool of the same
number of connections) and writing each recipient's outcome with its outgoing touch.
The limit runs before and after the campaign; the ratio is against their mean.

With the server in its own process, the client's CPU per letter decides the ratio: both
are printed as CPU µs per letter of this process (`time.process_time`). `--profile FILE`
runs the campaign's sending under cProfile and writes its stats to FILE (the figures of
that run are the profiler's, not the campaign's).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosmtplib

from bench.email.run import SMTP_SERVER
from hub import heap
from hub.activity import ActivityStore
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.manager import CampaignManager, CampaignSpec
from hub.campaigns.settings import CampaignSettings
from hub.channels.email.factory import build_sender
from hub.channels.email.letter_builder import build_letter
from hub.channels.email.settings import EmailSettings
from hub.model import Address, AddressKind, Channel, OutgoingMessage, utcnow
from tests.helpers.dovecot import free_port
from tests.helpers.postgres import running_postgres

GOAL = 0.70
FROM = "ivan@acme.ru"
SUBJECT = "Новости для {{ contact.name }}"
HTML = "<p>Здравствуйте, {{ contact.name }}!</p>" + "<p>Новости компании {{ company.name }}.</p>" * 8
ENGINE = CampaignSettings(company_name="Acme", batch_size=100, window=400)


def fill_sqlite(path: Path, n: int) -> None:
    """N contacts in Казань, each with one e-mail address (plain executemany)."""
    db = sqlite3.connect(path)
    stamp = "2026-01-01 00:00:00.000000"
    db.executemany(
        "INSERT INTO contacts (id, name, city, custom, is_lead, created_at, updated_at)"
        " VALUES (?, ?, 'Казань', '{}', 0, ?, ?)",
        [(i, f"Клиент {i}", stamp, stamp) for i in range(1, n + 1)],
    )
    db.executemany(
        "INSERT INTO identities (contact_id, kind, value, created_at) VALUES (?, 'email', ?, ?)",
        [(i, f"c{i}@client.test", stamp) for i in range(1, n + 1)],
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def fill_postgresql(url: str, n: int) -> None:
    import asyncpg  # the bench's own driver use, for COPY

    conn = await asyncpg.connect(url)
    try:
        now = utcnow().replace(tzinfo=None)
        await conn.copy_records_to_table(
            "contacts",
            columns=["id", "name", "city", "custom", "is_lead", "created_at", "updated_at"],
            records=[(i, f"Клиент {i}", "Казань", "{}", False, now, now) for i in range(1, n + 1)],
        )
        await conn.copy_records_to_table(
            "identities",
            columns=["contact_id", "kind", "value", "created_at"],
            records=[(i, "email", f"c{i}@client.test", now) for i in range(1, n + 1)],
        )
        await conn.execute(f"SELECT setval('contacts_id_seq', {n})")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def letter() -> bytes:
    message = OutgoingMessage(
        channel=Channel.EMAIL,
        to=(Address(kind=AddressKind.EMAIL, value="c1@client.test"),),
        subject="Новости для Клиент 1",
        body="Здравствуйте, Клиент 1!\n\n" + "Новости компании Acme.\n\n" * 8,
        html=HTML.replace("{{ contact.name }}", "Клиент 1").replace("{{ company.name }}", "Acme"),
    )
    return build_letter(
        message, sender=Address(kind=AddressKind.EMAIL, value=FROM), message_id="x@acme.ru",
        date=utcnow(),
    )  # fmt: skip


@contextmanager
def accepting_smtp_server() -> Iterator[int]:
    """The SMTP server that accepts everything, in a process of its own; its port."""
    port = free_port()
    smtp = subprocess.Popen([sys.executable, "-c", SMTP_SERVER, str(port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert smtp.stdout is not None and smtp.stdout.readline().strip() == b"ready"
        yield port
    finally:
        assert smtp.stdin is not None
        smtp.stdin.close()
        smtp.wait(10)


@dataclass(frozen=True, slots=True)
class Timed:
    """Wall and CPU seconds (this process) of one phase."""

    wall: float
    cpu: float


async def limit(port: int, count: int, connections: int, raw: bytes) -> Timed:
    """Raw aiosmtplib sending `count` letters on `connections` open connections."""
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
               for _ in range(connections)]  # fmt: skip
    for client in clients:
        await client.connect()
    queue = iter(range(count))

    async def worker(client: aiosmtplib.SMTP) -> None:
        for i in queue:
            await client.sendmail(FROM, [f"c{i}@client.test"], raw)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = Timed(time.perf_counter() - started, time.process_time() - cpu)
    for client in clients:
        await client.quit()
    return elapsed


async def started_campaign(store: ActivityStore, count: int) -> tuple[int, float]:
    """The bench's campaign over the N contacts, created and started: (its id, the
    snapshot's seconds)."""
    manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
    template = await store.templates.create(name="bench", channel="email", created_by="b")
    await store.templates.add_version(
        template.id, subject=SUBJECT, html=HTML, text=None, created_by="b"
    )
    row = await manager.create(
        CampaignSpec(name="bench", channel="email", template_id=template.id,
                     segment={"field": "city", "op": "eq", "value": "Казань"}, sender="ivan"),
        created_by="bench",
    )  # fmt: skip
    started = time.perf_counter()
    snapshot = await manager.start(row.id)
    snapped = time.perf_counter() - started
    assert snapshot.pending == count, snapshot
    return row.id, snapped


def email_settings(port: int, connections: int) -> EmailSettings:
    """One account sending to the bench's server on `connections` pooled connections."""
    return EmailSettings.model_validate(
        {
            "company_domains": ["acme.ru"],
            "smtp_pool_size": connections,
            "smtp_max_attempts": 1,
            "accounts": {"ivan": {"smtp": f"smtp://127.0.0.1:{port}", "addresses": [FROM]}},
        }
    )


async def campaign(
    url: str, port: int, count: int, connections: int, profile: Path | None = None
) -> tuple[float, Timed, int]:
    """(snapshot seconds, sending, recipients sent) of one campaign."""
    store = await ActivityStore.open(url)
    try:
        campaign_id, snapped = await started_campaign(store, count)
        sender = build_sender(email_settings(port, connections), "ivan")
        worker = CampaignWorker(store, sender, ENGINE, message_id_domain="acme.ru")
        profiler = cProfile.Profile() if profile is not None else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        await worker.run(campaign_id)
        if profiler is not None:
            profiler.disable()
        sending = Timed(time.perf_counter() - started, time.process_time() - cpu)
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
        await sender.close()
        counts = await store.campaigns.counts(campaign_id)
        return snapped, sending, counts["sent"]
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    n = args.recipients
    with ExitStack() as stack:
        if args.backend == "sqlite":
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="campbench-")))
            url = f"sqlite:///{directory}/bench.db"
            asyncio.run(migrate(url))
            fill_sqlite(directory / "bench.db", n)
        else:
            server = stack.enter_context(running_postgres(durable=True))
            url = server.create_database()
            asyncio.run(migrate(url))
            asyncio.run(fill_postgresql(url, n))
        port = stack.enter_context(accepting_smtp_server())
        raw = letter()
        heap.settle()  # as `touchhub serve` does once started, before both phases
        before = asyncio.run(limit(port, n, args.connections, raw))
        snapped, sending, sent = asyncio.run(campaign(url, port, n, args.connections, args.profile))
        after = asyncio.run(limit(port, n, args.connections, raw))
    raw_rate = n / ((before.wall + after.wall) / 2)
    rate = sent / sending.wall
    print(f"{args.backend}: {n:,} recipients, snapshot {snapped:.2f} s")
    print(f"limit, raw aiosmtplib on {args.connections} connections:"
          f" {n / before.wall:,.0f}/s before, {n / after.wall:,.0f}/s after;"
          f" client CPU {before.cpu / n * 1e6:,.0f} / {after.cpu / n * 1e6:,.0f} µs per letter")
    print(f"campaign: client CPU {sending.cpu / max(sent, 1) * 1e6:,.0f} µs per letter,"
          f" wall {sending.wall / max(sent, 1) * 1e6:,.0f} µs per letter")
    print(f"campaign: {sent:,} sent in {sending.wall:.1f} s = {rate:,.0f}/s ="
          f" {rate / raw_rate:.0%} of the limit (goal ≥ {GOAL:.0%}:"
          f" {'met' if rate >= GOAL * raw_rate else 'NOT met'})")  # fmt: skip


async def migrate(url: str) -> None:
    store = await ActivityStore.open(url)
    await store.close()


if __name__ == "__main__":
    main()
