"""API under load: 50 clients refreshing a dashboard's five routes, against health alone.

    .venv/bin/python -m bench.api.run [--backend sqlite|postgresql] [--postgresql-url URL]
        [--activities 200000] [--clients 50] [--seconds 20] [--workers N] [--ingest-rate 1000]
    .venv/bin/python -m bench.api.run --compare-workers 1,2 [--backend …] [--seconds 20]

Seeds a demo store once (SQLite: cached as /tmp/touchhub-apibench/demo-N.db; PostgreSQL:
the given database, seeded unless it has activities, or a server of the benchmark's
own), starts `touchhub serve` on it as a subprocess, then runs, in one run and for
`--seconds` each: `/api/v1/health` alone, and the five-route mix (each client requests
activities, kpi, contacts, monitor and health in turn). With `--ingest-rate` the mix runs
a second time while another process records that many touches a second, so what a write
batch does to reads shows next to the quiet figure. Prints req/s, p50/p99 (also per route),
errors, the mix's share of health-only throughput, and for every phase the CPU the
serving processes and this load client spent (per answer and in all) with the load
average: on shared cores, what the server was given explains its throughput.

With `--compare-workers 1,2` it runs the five-route mix instead once per worker count
(`touchhub serve --workers N`, a fresh serve each, the same store and clients) and prints
each throughput and the ratio of the last to the first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from hub.activity import ActivityStore
from hub.demo import seed

MIX = (
    "/api/v1/activities?limit=50",
    "/api/v1/kpi",
    "/api/v1/contacts?limit=50",
    "/api/v1/kpi/monitor",
    "/api/v1/health",
)
HEALTH = ("/api/v1/health",)
#: The goals of the issue, checked on every run.
GOAL_SHARE = 0.5
GOAL_P99_S = 0.3
#: Throughput with `--workers 2` against one process, wanted by the issue.
GOAL_WORKERS_RATIO = 1.6
CACHE = Path("/tmp/touchhub-apibench")
READY_TIMEOUT_S = 120.0


@dataclass
class Phase:
    """What one phase of load measured."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    by_route: dict[str, list[float]] = field(default_factory=dict)
    #: CPU seconds the serving processes (main and web workers) spent during the phase.
    server_cpu_s: float = 0.0
    #: CPU seconds this process — the load client — spent during the phase.
    client_cpu_s: float = 0.0
    load_average: float = 0.0

    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def quantile(self, q: float, values: Sequence[float] | None = None) -> float:
        data = sorted(self.latencies if values is None else values)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))]

    def summary(self) -> dict[str, object]:
        done = max(1, len(self.latencies))
        return {
            "phase": self.name,
            "requests": len(self.latencies),
            "req_per_s": round(self.rate(), 1),
            "p50_ms": round(self.quantile(0.5) * 1000, 1),
            "p99_ms": round(self.quantile(0.99) * 1000, 1),
            "errors": self.errors,
            "routes_p50_ms": {
                route: round(statistics.median(v) * 1000, 1) for route, v in self.by_route.items()
            },
            "routes_p99_ms": {
                route: round(self.quantile(0.99, v) * 1000, 1) for route, v in self.by_route.items()
            },
            # Where the two cores went: the server's and the load client's CPU per answer.
            "server_cpu_ms_per_req": round(self.server_cpu_s * 1000 / done, 2),
            "client_cpu_ms_per_req": round(self.client_cpu_s * 1000 / done, 2),
            "server_cpu_s": round(self.server_cpu_s, 1),
            "client_cpu_s": round(self.client_cpu_s, 1),
            "load_average": round(self.load_average, 1),
        }


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and every process below it, now."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        todo.extend(int(c) for c in children)
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def touchhub() -> list[str]:
    """The touchhub command of this interpreter's environment."""
    script = Path(sys.executable).with_name("touchhub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub.cli"]


async def prepared(url: str, activities: int) -> str:
    """Seed `url` unless it has activities; return an admin token for it."""
    store = await ActivityStore.open(url)
    try:
        if not await store.activities.count():
            print(f"seeding {activities} activities into the store…", file=sys.stderr, flush=True)
            await seed(store.engine, activities=activities)
        return await store.tokens.create("bench-api", "admin")
    finally:
        await store.close()


@contextlib.contextmanager
def serving(url: str, port: int, workers: int | None) -> Iterator[subprocess.Popen[bytes]]:
    """`touchhub serve` on `url` and `port` until the block ends."""
    cmd = [*touchhub(), "--db", url, "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd.append("--no-demo")
    if workers is not None:
        cmd += ["--workers", str(workers)]
    log = open(CACHE / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


async def ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"touchhub serve exited with {proc.returncode}; see its log")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(base + "/api/v1/health") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError("touchhub serve did not answer in time")


async def load(
    base: str,
    token: str,
    routes: Sequence[str],
    clients: int,
    seconds: float,
    name: str,
    *,
    gzip: bool = True,
    server: int | None = None,
) -> Phase:
    """`clients` clients, each requesting `routes` in turn for `seconds`; with `server`
    (the serving process's pid) the CPU it and this client spent is measured too."""
    phase = Phase(name, seconds)
    server_before = 0.0 if server is None else tree_cpu_s(server)
    client_before = time.process_time()
    encoding = "gzip" if gzip else "identity"
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": encoding}
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        base, connector=connector, headers=headers, timeout=timeout
    ) as session:
        end = time.perf_counter() + seconds

        async def client(start: int) -> None:
            i = start
            while (now := time.perf_counter()) < end:
                route = routes[i % len(routes)]
                i += 1
                try:
                    async with session.get(route) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = 0
                    phase.errors[type(exc).__name__] = phase.errors.get(type(exc).__name__, 0) + 1
                took = time.perf_counter() - now
                if status != 200:
                    key = f"{route} {status}"
                    phase.errors[key] = phase.errors.get(key, 0) + 1
                    continue
                phase.latencies.append(took)
                phase.by_route.setdefault(route.split("?")[0], []).append(took)

        await asyncio.gather(*(client(n) for n in range(clients)))
    phase.client_cpu_s = time.process_time() - client_before
    if server is not None:
        phase.server_cpu_s = tree_cpu_s(server) - server_before
    phase.load_average = os.getloadavg()[0]
    return phase


async def bench(args: argparse.Namespace, url: str) -> list[dict[str, object]]:
    token = await prepared(url, args.activities)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    results = []
    with serving(url, port, args.workers) as proc:
        await ready(base, proc)
        await load(base, token, MIX, args.clients, 2.0, "warm-up")
        gz = not args.no_gzip
        health = await load(
            base, token, HEALTH, args.clients, args.seconds, "health only", gzip=gz, server=proc.pid
        )
        mix = await load(
            base, token, MIX, args.clients, args.seconds, "five-route mix", gzip=gz, server=proc.pid
        )
        phases = [health, mix]
        ingest = None
        if args.ingest_rate:
            writer = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.api.ingest",
                "--db",
                url,
                "--rate",
                str(args.ingest_rate),
                "--seconds",
                str(args.seconds + 2),
                stdout=asyncio.subprocess.PIPE,
            )
            await asyncio.sleep(1.0)
            phases.append(
                await load(
                    base,
                    token,
                    MIX,
                    args.clients,
                    args.seconds,
                    f"mix + {args.ingest_rate}/s",
                    gzip=gz,
                    server=proc.pid,
                )
            )
            out, _ = await writer.communicate()
            ingest = json.loads(out.decode().strip().splitlines()[-1])
    for phase in phases:
        row = phase.summary()
        row["share_of_health"] = round(phase.rate() / health.rate(), 3)
        results.append(row)
        print(json.dumps(row), flush=True)
    if ingest is not None:
        print(json.dumps({"ingest": ingest}), flush=True)
        results.append({"ingest": ingest})
    share = mix.rate() / health.rate()
    p99 = mix.quantile(0.99)
    print(cpu_line(health, mix), flush=True)
    print(
        f"\nmix {mix.rate():.1f} req/s = {share:.0%} of health-only {health.rate():.1f} req/s "
        f"(goal ≥ {GOAL_SHARE:.0%}: {'met' if share >= GOAL_SHARE else 'not met'}); "
        f"mix p50 {mix.quantile(0.5) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"(goal < {GOAL_P99_S * 1000:.0f} ms: {'met' if p99 < GOAL_P99_S else 'not met'}); "
        f"errors: {sum(mix.errors.values()) + sum(health.errors.values())}",
        flush=True,
    )
    return results


def cpu_line(health: Phase, mix: Phase) -> str:
    """What the CPU says: per answer, server and client; the share the CPU alone allows."""
    per = [
        ((p.server_cpu_s + p.client_cpu_s) / max(1, len(p.latencies)), p) for p in (health, mix)
    ]
    (h_cost, _), (m_cost, _) = per
    parts = ", ".join(
        f"{p.name}: server {p.server_cpu_s * 1000 / max(1, len(p.latencies)):.2f} ms + "
        f"client {p.client_cpu_s * 1000 / max(1, len(p.latencies)):.2f} ms CPU per answer "
        f"(client {p.client_cpu_s / max(1e-9, p.server_cpu_s + p.client_cpu_s):.0%} of both)"
        for _, p in per
    )
    bound = h_cost / m_cost if m_cost else float("nan")
    return f"\n{parts}; a mix answer costs {bound:.0%} of a health answer's CPU"


async def all_workers_serve(base: str, workers: int) -> None:
    """Wait until health lists `workers` processes, every web worker serving."""
    if workers < 2:
        return
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, ValueError):
                async with session.get(base + "/api/v1/health") as resp:
                    listed = (await resp.json()).get("workers") or []
                if len(listed) == workers and all(
                    w.get("state", "running") == "running" for w in listed
                ):
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"not all {workers} workers serve in time")


async def compare_workers(args: argparse.Namespace, url: str) -> list[dict[str, object]]:
    """The five-route mix once per worker count, each on a fresh serve; the ratio."""
    counts = [int(n) for n in args.compare_workers.split(",")]
    token = await prepared(url, args.activities)
    gz = not args.no_gzip
    results: list[dict[str, object]] = []
    rates: list[float] = []
    for workers in counts:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with serving(url, port, workers) as proc:
            await ready(base, proc)
            await all_workers_serve(base, workers)
            await load(base, token, MIX, args.clients, 2.0, "warm-up")
            mix = await load(
                base,
                token,
                MIX,
                args.clients,
                args.seconds,
                f"mix, --workers {workers}",
                gzip=gz,
                server=proc.pid,
            )
        row = mix.summary()
        row["workers"] = workers
        results.append(row)
        rates.append(mix.rate())
        print(json.dumps(row), flush=True)
    ratio = rates[-1] / rates[0] if rates[0] else float("nan")
    print(
        f"\nmix with --workers {counts[-1]}: {rates[-1]:.1f} req/s = {ratio:.2f}× "
        f"--workers {counts[0]} ({rates[0]:.1f} req/s; goal ≥ {GOAL_WORKERS_RATIO}×: "
        f"{'met' if ratio >= GOAL_WORKERS_RATIO else 'not met'}); load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the load client shares them)",
        flush=True,
    )
    return results


def sqlite_copy(activities: int, fresh: bool) -> str:
    """A copy of the cached seeded SQLite store (seeded now if missing), so each run starts
    from the same data even though the ingest phase writes."""
    CACHE.mkdir(parents=True, exist_ok=True)
    pristine = CACHE / f"demo-{activities}.seeded.db"
    cached = CACHE / f"demo-{activities}.db"
    if fresh or not pristine.exists():
        for stale in (pristine, Path(f"{pristine}-wal")):
            stale.unlink(missing_ok=True)
        asyncio.run(prepared(f"sqlite:///{pristine}", activities))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{cached}{suffix}").unlink(missing_ok=True)
        if suffix != "-shm" and Path(f"{pristine}{suffix}").exists():
            shutil.copyfile(f"{pristine}{suffix}", f"{cached}{suffix}")
    return f"sqlite:///{cached}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgresql-url", default=None)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=None, help="passed to touchhub serve")
    parser.add_argument("--ingest-rate", type=int, default=0, help="touches/s written meanwhile")
    parser.add_argument(
        "--compare-workers",
        default=None,
        metavar="A,B",
        help="run the mix with `serve --workers A`, then B, …, and print the ratio",
    )
    parser.add_argument("--no-gzip", action="store_true", help="clients do not accept gzip")
    parser.add_argument("--fresh", action="store_true", help="re-seed the cached SQLite store")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    run = compare_workers if args.compare_workers else bench
    if args.backend == "sqlite":
        asyncio.run(run(args, sqlite_copy(args.activities, args.fresh)))
    elif args.postgresql_url:
        asyncio.run(run(args, args.postgresql_url))
    else:
        from tests.helpers.postgres import running_postgres

        with running_postgres(durable=True) as server:
            asyncio.run(run(args, server.create_database()))


if __name__ == "__main__":
    main()
