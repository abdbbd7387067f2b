"""Webhook benchmark: signed WhatsApp notifications through the hub's webhook route against
an aiohttp handler that does nothing, in the same run.

    .venv/bin/python -m bench.messengers.webhooks [--requests 5000] [--concurrency 32] [--rounds 3]

Both apps run in a process of their own on loopback; this process is the client (aiohttp,
`--concurrency` requests in flight). The hub's app is the real route
(`/hooks/messengers/whatsapp/{name}`: read the body, check `X-Hub-Signature-256`, parse,
refuse stale, queue) with a `WhatsAppSender`'s inbox writing into a sink that only counts,
so the figure is the webhook's own cost, not the store's. The baseline is a POST handler
that reads the body and answers 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import aiohttp
from aiohttp import web

from hub.channels.messengers import webhooks
from hub.channels.messengers.whatsapp_sender import NumberHooks, WhatsAppSender, notification_inbox
from hub.channels.plugin import SENDERS, SINK
from hub.model import SinkItem
from tests.helpers.fake_whatsapp import PHONE_NUMBER_ID, notification, sign, text_message

SECRET = "bench-app-secret"


class CountingSink:
    """Counts what the webhook's inbox writes."""

    def __init__(self) -> None:
        self.items = 0

    async def put(self, item: SinkItem) -> None:
        self.items += 1

    async def flush(self) -> None:
        return None

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return None


def hub_app() -> web.Application:
    sink = CountingSink()
    hooks = NumberHooks(
        account="bench", app_secret=SECRET, verify_token="v", phone_number_id=PHONE_NUMBER_ID, max_age_s=86400
    )
    sender = WhatsAppSender(
        hooks=hooks,
        inbox=notification_inbox(hooks, sink, 100_000),
        api_url="http://127.0.0.1:9",
        access_token=None,
        sink=sink,
        timeout_s=5,
    )
    app = web.Application()
    app.add_routes(webhooks.routes)
    app[SENDERS] = {"whatsapp:bench": sender}
    app[SINK] = sink
    return app


def noop_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks/messengers/whatsapp/{name}", handler)
    return app


async def serve(kind: str) -> None:
    runner = web.AppRunner(hub_app() if kind == "hub" else noop_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


def start(kind: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.messengers.webhooks", "--serve", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def bodies(count: int) -> list[tuple[bytes, str]]:
    now = int(time.time())
    out = []
    for n in range(count):
        body = notification(messages=[text_message(f"7916{n % 1000:07d}", f"wamid.B{n}", f"message {n}", now)])
        out.append((body, sign(SECRET, body)))
    return out


async def fire(url: str, payloads: list[tuple[bytes, str]], concurrency: int) -> float:
    queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    target = f"{url}/hooks/messengers/whatsapp/bench"
    failures = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            body, signature = queue.get_nowait()
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
            async with http.post(target, data=body, headers=headers) as resp:
                await resp.read()
                failures += resp.status != 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    assert failures == 0, f"{failures} requests failed"
    return len(payloads) / elapsed


async def main(args: argparse.Namespace) -> None:
    payloads = bodies(args.requests)
    runs: dict[str, list[float]] = {"noop": [], "hub": []}
    for round_no in range(1, args.rounds + 1):
        for kind in ("noop", "hub"):
            proc, url = start(kind)
            try:
                runs[kind].append(await fire(url, payloads, args.concurrency))
            finally:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(10)
        print(f"round {round_no}: no-op {runs['noop'][-1]:,.0f} req/s, webhook {runs['hub'][-1]:,.0f} req/s", flush=True)
    noop, hub = statistics.median(runs["noop"]), statistics.median(runs["hub"])
    print(json.dumps({"requests": args.requests, "noop_per_s": round(noop), "webhook_per_s": round(hub),
                      "ratio": round(hub / noop, 3)}))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=("hub", "noop"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
