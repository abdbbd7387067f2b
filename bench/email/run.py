"""E-mail benchmarks with their baselines in the same run: IMAP first sync and SMTP sending.

    .venv/bin/python -m bench.email.run [--letters 10000] [--baseline-letters 2000] [--send 5000]
                                        [--rounds 5] [--only imap|smtp]

(a) First sync of N letters from a loopback Dovecot through `ImapCapture` (batched
    FETCH) against the same capture with one letter per FETCH. Goal: ≥ 1,000 letters/s.
(b) Sending M letters to a loopback aiosmtpd (its own process) through `SmtpSender`
    against a new connection per letter and against the limit: raw aiosmtplib on
    pre-opened connections with pre-built bytes. Goal: ≥ 80 % of the limit.
    The three runs are interleaved round by round and the medians compared; each
    also reports the client's CPU per letter (this process only, not the server's).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import textwrap
import time

import aiosmtplib

from hub.channels.email.factory import build_capture, build_sender
from hub.channels.email.settings import DEFAULT_FETCH_BATCH, EmailSettings
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SinkItem, Touch
from tests.helpers import mail_samples as S
from tests.helpers.dovecot import free_port, running_dovecot

SMTP_WORKERS = 4  # connections, for the Sender's pool and both baselines alike
SEND_CONCURRENCY = 64  # letters in flight at once in the Sender run
SMTP_SERVER = textwrap.dedent(
    """
    import sys, time
    from aiosmtpd.controller import Controller
    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
    c.start()
    print("ready", flush=True)
    sys.stdin.read()
    c.stop()
    """
)


class CountingSink:
    """A sink that only counts (the store's speed is measured by its own bench)."""

    def __init__(self) -> None:
        self.touches = 0
        self.checkpoints: dict[tuple[str, str], str] = {}

    async def put(self, item: SinkItem) -> None:
        if isinstance(item, Touch):
            self.touches += 1
        elif hasattr(item, "key") and hasattr(item, "value"):
            self.checkpoints[(item.source, item.key)] = item.value  # type: ignore[union-attr]

    async def flush(self) -> None:
        return None

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return self.checkpoints.get((source, key))


def imap_settings(url: str, password: str, batch: int) -> EmailSettings:
    return EmailSettings.model_validate(
        {
            "company_domains": ["acme.ru"],
            "horizon_days": None,
            "fetch_batch": batch,
            "timeout_s": 60,
            "accounts": {"box": {"imap": url, "password": password, "addresses": [S.IVAN]}},
        }
    )


async def first_sync(url: str, password: str, batch: int) -> tuple[int, float]:
    sink = CountingSink()
    capture = build_capture(imap_settings(url, password, batch), "box")
    started = time.perf_counter()
    await asyncio.wait_for(capture.sync_once(sink), 3600)
    return sink.touches, time.perf_counter() - started


def bench_imap(letters: int, baseline_letters: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with running_dovecot({"ivan": "ivanpw", "petr": "petrpw"}) as dovecot:
        dovecot.preload("ivan", (S.numbered(i) for i in range(letters)))
        dovecot.preload("petr", (S.numbered(i, to=S.PETR) for i in range(baseline_letters)))
        for user in ("ivan", "petr"):  # let Dovecot index the Maildirs before timing
            client = dovecot.imap(user)
            client.select("INBOX", readonly=True)
            client.fetch("1:*", "(UID)")
            client.logout()
        count, seconds = asyncio.run(first_sync(dovecot.url("ivan"), "ivanpw", DEFAULT_FETCH_BATCH))
        assert count == letters, count
        results["batched"] = count / seconds
        print(f"(a) first sync, batched FETCH: {count} letters in {seconds:.2f} s")
        count, seconds = asyncio.run(first_sync(dovecot.url("petr"), "petrpw", 1))
        assert count == baseline_letters, count
        results["per_letter"] = count / seconds
        print(f"    baseline, one FETCH per letter: {count} letters in {seconds:.2f} s")
    return results


def message(i: int) -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.EMAIL,
        to=(Address(kind=AddressKind.EMAIL, value=f"client{i}@example.com"),),
        subject=f"Счёт №{i}",
        body="Добрый день! Счёт во вложении. " * 10,
    )


async def send_with_sender(port: int, count: int) -> float:
    settings = EmailSettings.model_validate(
        {
            "company_domains": ["acme.ru"],
            "smtp_pool_size": SMTP_WORKERS,
            "accounts": {"ivan": {"smtp": f"smtp://127.0.0.1:{port}", "addresses": [S.IVAN]}},
        }
    )
    sender = build_sender(settings, "ivan")
    queue = iter(range(count))
    sent: list[bool] = []

    async def worker() -> None:  # like the baselines' workers; no task per letter
        for i in queue:
            sent.append((await sender.send(message(i))).ok)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(SEND_CONCURRENCY)))
    elapsed = time.perf_counter() - started
    await sender.close()
    assert len(sent) == count and all(sent)
    return elapsed


async def send_connection_per_letter(port: int, count: int, raw: bytes) -> float:
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            await aiosmtplib.send(raw, sender=S.IVAN, recipients=[S.CLIENT],
                                  hostname="127.0.0.1", port=port, start_tls=False)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(SMTP_WORKERS)))
    return time.perf_counter() - started


async def send_limit(port: int, count: int, raw: bytes) -> float:
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
               for _ in range(SMTP_WORKERS)]
    for client in clients:
        await client.connect()
    queue = iter(range(count))

    async def worker(client: aiosmtplib.SMTP) -> None:
        for _ in queue:
            await client.sendmail(S.IVAN, [S.CLIENT], raw)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.quit()
    return elapsed


def bench_smtp(count: int, rounds: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SMTP_SERVER, str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    from hub.channels.email.letter_builder import build_letter, new_message_id
    from hub.model import utcnow

    raw = build_letter(message(0), sender=Address(kind=AddressKind.EMAIL, value=S.IVAN),
                       message_id=new_message_id("acme.ru"), date=utcnow())
    times: dict[str, list[float]] = {"sender": [], "per_letter": [], "limit": []}
    cpu: dict[str, list[float]] = {"sender": [], "per_letter": [], "limit": []}
    runs = {
        "limit": lambda: send_limit(port, count, raw),
        "sender": lambda: send_with_sender(port, count),
        "per_letter": lambda: send_connection_per_letter(port, count, raw),
    }
    try:
        for _ in range(rounds):  # interleaved, median taken: the machine is shared
            for name, run in runs.items():
                started_cpu = time.process_time()
                times[name].append(asyncio.run(run()))
                cpu[name].append(time.process_time() - started_cpu)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)
    rates = {k: count / statistics.median(v) for k, v in times.items()}
    # rounds are paired (run back to back): the median of the per-round ratios too
    rates["ratio"] = statistics.median(
        lim / snd for lim, snd in zip(times["limit"], times["sender"], strict=True)
    )
    for name, label in (("sender", "SmtpSender (pool of 4)"),
                        ("per_letter", "baseline, a connection per letter"),
                        ("limit", "limit, raw aiosmtplib on 4 open connections")):
        print(f"(b) {label}: {count} letters, median {statistics.median(times[name]):.2f} s"
              f" (rounds: {', '.join(f'{t:.2f}' for t in times[name])});"
              f" client CPU {statistics.median(cpu[name]) / count * 1e6:.0f} µs/letter")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--baseline-letters", type=int, default=2_000)
    parser.add_argument("--send", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("imap", "smtp"), help="run one of the two benches")
    args = parser.parse_args()
    imap = bench_imap(args.letters, args.baseline_letters) if args.only != "smtp" else None
    smtp = bench_smtp(args.send, args.rounds) if args.only != "imap" else None
    print()
    if imap is not None:
        report_imap(imap)
    if smtp is not None:
        report_smtp(smtp)


def report_imap(imap: dict[str, float]) -> None:
    print(f"first sync: {imap['batched']:,.0f} letters/s batched vs {imap['per_letter']:,.0f}"
          f" letters/s one FETCH per letter: ×{imap['batched'] / imap['per_letter']:.1f}"
          f" (goal ≥ 1,000/s: {'met' if imap['batched'] >= 1000 else 'NOT met'})")


def report_smtp(smtp: dict[str, float]) -> None:
    print(f"sending: Sender {smtp['sender']:,.0f}/s, connection per letter"
          f" {smtp['per_letter']:,.0f}/s, limit {smtp['limit']:,.0f}/s: Sender ="
          f" {smtp['sender'] / smtp['limit']:.0%} of the limit (median of per-round ratios"
          f" {smtp['ratio']:.0%}),"
          f" ×{smtp['sender'] / smtp['per_letter']:.1f} a connection per letter"
          f" (goal ≥ 80 %: {'met' if smtp['sender'] >= 0.8 * smtp['limit'] else 'NOT met'})")


if __name__ == "__main__":
    main()
