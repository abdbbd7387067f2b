"""`touchhub serve`, `sync --once` and `health`: running the hub and asking how it is."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from hub import i18n
from hub.activity import LeaseBoard
from hub.cli.common import emit_json, json_option, locale_of, open_store_from, run, settings_of
from hub.config import Settings, worker_link
from hub.errors import ConfigError
from hub.logging_setup import setup_logging

DEMO_ACTIVITIES = 20_000
HEALTH_TIMEOUT_S = 5.0


async def _load_demo_if_empty(settings: Settings, store: Any, locale: str = "en") -> bool:
    """Fill an empty store with demo data so a first start shows something."""
    if not settings.demo_on_empty:
        return False
    if await store.activities.count() or await store.contacts.count():
        return False
    from hub.demo import seed
    from hub.demo.marketing import seed_marketing

    say = functools.partial(i18n.text, locale)
    click.echo(say("cli_first.loading", n=i18n.number(locale, DEMO_ACTIVITIES)), err=True)
    loaded = await seed(store.engine, activities=DEMO_ACTIVITIES)
    await seed_marketing(store)
    if loaded.head_id is not None:
        head = await store.tokens.create("demo-head", "head", employee_id=loaded.head_id)
        click.echo(say("cli_first.head", name=loaded.head_name, n=loaded.head_reports, token=head), err=True)
    marketer = await store.tokens.create("demo-marketer", "marketer")
    click.echo(say("cli_first.marketer", token=marketer), err=True)
    token = await store.tokens.create("demo-admin", "admin")
    click.echo(say("cli_first.admin", token=token), err=True)
    return True


@click.command()
@click.option("--host", default=None, help="Listen address (default from [web] host).")
@click.option("--port", type=int, default=None, help="Listen port (default from [web] port).")
@click.option("--no-demo", is_flag=True, help="Do not load demo data into an empty store.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Web processes on the one port (default: one per core); adapters, scheduler and "
    "campaigns run once, in the main process.",
)
@click.option("--web-worker", default=None, hidden=True, help="INDEX:PORT (internal).")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    no_demo: bool,
    workers: int | None,
    web_worker: str | None,
) -> None:
    """Run the hub: web API and dashboard, adapters, scheduler, until SIGTERM/SIGINT."""
    from hub.runtime import Hub, serve_forever
    from hub.workers import WorkerPool, default_workers, run_web_worker

    settings = settings_of(ctx)
    setup_logging(settings.logging)
    if host:
        settings.web.host = host
    if port:
        settings.web.port = port
    if no_demo:
        settings.demo_on_empty = False
    if web_worker is not None:
        index, _, internal_port = web_worker.partition(":")
        link = worker_link()

        async def web_only() -> None:
            store = await open_store_from(settings)
            try:
                await run_web_worker(settings, store, link, int(index), int(internal_port))
            finally:
                await store.close()

        run(web_only())
        return
    _check_port(settings.web.host, settings.web.port)
    count = default_workers() if workers is None else workers
    if count > 1 and _in_memory(settings.store_url):
        click.echo("an in-memory store cannot be shared: serving with one process", err=True)
        count = 1

    locale = locale_of(ctx)

    async def main() -> None:
        store = await open_store_from(settings, locale)
        try:
            await _load_demo_if_empty(settings, store, locale)
            pool = WorkerPool(count) if count > 1 else None

            def ready(hub: Hub) -> None:
                click.echo(i18n.text(locale, "cli_first.running", url=hub.url), err=True)

            command = _worker_command(ctx, settings)
            await serve_forever(Hub(settings, store, workers=pool, worker_command=command), ready)
        finally:
            await store.close()

    run(main())


def _check_port(host: str, port: int) -> None:
    """Refuse, before anything starts, an address the hub cannot listen on. A port another
    program holds made the start fail halfway, tracebacks and all; and the web workers
    bind with SO_REUSEPORT, which a second touchhub of the same user does too, so two hubs
    on one port would share its requests between two stores. A probe bound without
    SO_REUSEPORT fails on both."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"[web] host {host!r} is not an address: {exc.strerror}") from exc
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closing connection is no owner
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is in use by another program or another touchhub; "
                    "choose another with --port or [web] port"
                ) from exc
            if exc.errno == errno.EACCES:
                raise ConfigError(
                    f"port {port} may only be used by the system's administrator; choose one above 1023"
                ) from exc
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ConfigError(f"{host} is not an address of this machine ([web] host)") from exc
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and (":memory:" in url or url.rstrip("/").endswith("sqlite:"))


def _worker_command(ctx: click.Context, settings: Settings) -> list[str]:
    """This console entry point with the same global options, for a web-only worker."""
    obj = ctx.find_root().ensure_object(dict)
    command = [sys.executable, "-c", "from hub.cli import main; main()"]
    if obj.get("config_file"):
        command += ["--config", str(Path(obj["config_file"]).resolve())]
    if obj.get("db_url"):
        command += ["--db", obj["db_url"]]
    command += ["serve", "--no-demo", "--host", settings.web.host]
    command += ["--port", str(settings.web.port)]
    return command


@click.command()
@click.option(
    "--once", is_flag=True, default=True, hidden=True, help="Catch up, then exit (what sync does; kept for scripts)."
)
@click.argument("adapter", required=False)
@json_option
@click.pass_context
def sync(ctx: click.Context, once: bool, adapter: str | None, as_json: bool) -> None:
    """Run capture adapters until they are caught up, then exit."""
    from hub.runtime import sync_once

    settings = settings_of(ctx)
    bars: dict[str, Any] = {}

    def progress(name: str, done: int, total: int | None) -> None:
        bar = bars.get(name)
        if bar is None and total and sys.stderr.isatty():
            bar = bars[name] = click.progressbar(length=total, label=name, file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)
        else:
            click.echo(f"{name}: {done}/{total or '?'}", err=True)

    async def main() -> list[dict[str, Any]]:
        store = await open_store_from(settings)
        try:
            return await sync_once(settings, store, adapter, progress)
        finally:
            await store.close()

    health = run(main())
    for bar in bars.values():
        bar.__exit__(None, None, None)
    if as_json:
        emit_json(health)
    else:
        if not health:
            click.echo("no capture adapters are configured (see `touchhub init`)")
        for item in health:
            err = f" — {item['last_error']}" if item["last_error"] else ""
            click.echo(f"{item['name']}: {item['state']} {json.dumps(item['counters'])}{err}")
    if any(h["state"] == "failed" for h in health):
        ctx.exit(1)


@click.command()
@click.option("--url", default=None, help="Hub URL (default from [web] host and port).")
@json_option
@click.pass_context
def health(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """Ask a running hub how its store, writer and adapters are; else check the store."""
    settings = settings_of(ctx)
    base = url or f"http://{settings.web.host}:{settings.web.port}"
    try:
        with urllib.request.urlopen(
            f"{base.rstrip('/')}/api/v1/health", timeout=HEALTH_TIMEOUT_S
        ) as resp:
            data = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        data = run(_offline_health(settings))
    if as_json:
        emit_json(data)
        return
    click.echo(f"status: {data['status']}")
    for key, value in data.items():
        if key == "leases" and isinstance(value, list):
            for lease in value:
                click.echo(_lease_line(lease, data.get("process")))
        elif key == "workers" and isinstance(value, list):
            for worker in value:
                click.echo(_worker_line(worker, data.get("served_by")))
        elif key != "status":
            click.echo(f"{key}: {json.dumps(value, ensure_ascii=False, default=str)}")
    if data["status"] not in ("ok",):
        ctx.exit(1)


def _worker_line(worker: Any, served_by: Any) -> str:
    """`process 1 (web): pid N, running, 0 restarts` — one line per `serve --workers` process."""
    if not isinstance(worker, dict):
        return f"process: {worker}"
    line = f"process {worker.get('worker')} ({worker.get('role')}): pid {worker.get('pid')}"
    if "state" in worker:
        line += f", {worker['state']}, {worker.get('restarts', 0)} restarts"
    if isinstance(served_by, dict) and served_by.get("pid") == worker.get("pid"):
        line += " (answered this request)"
    return line


def _lease_line(lease: dict[str, Any], process: Any) -> str:
    """`lease ami:office: standby, held by HOST pid N since …` (who runs a single-consumer
    adapter), from the health document."""
    holder = lease.get("holder")
    line = f"lease {lease.get('name')}: {lease.get('state')}"
    if not holder:
        return line + ", no holder"
    mine = isinstance(process, dict) and (process.get("host"), process.get("pid")) == (
        holder.get("host"),
        holder.get("pid"),
    )
    who = "this process" if mine else "another process"
    return (
        f"{line}, held by {who}: {holder.get('host')} pid {holder.get('pid')} "
        f"since {holder.get('since')} (heartbeat {holder.get('heartbeat_at')})"
    )


async def _offline_health(settings: Settings) -> dict[str, Any]:
    """Health when no hub is running: can the store be opened, how big is it."""
    from hub.urls import mask_url

    try:
        store = await asyncio.wait_for(open_store_from(settings), HEALTH_TIMEOUT_S * 4)
    except (ConfigError, Exception) as exc:
        return {"status": "down", "hub": "not running", "store": {"error": str(exc)}}
    try:
        holders = await LeaseBoard(store.engine).holders()
        return {
            "status": "not running",
            "hub": "not running",
            "store": {
                "url": mask_url(settings.store_url),
                "activities": await store.activities.count(),
                "contacts": await store.contacts.count(),
            },
            # A hub elsewhere on the same store: who runs which single-consumer adapter.
            "leases": [
                {"name": name, "state": "held", "holder": holder.as_dict()}
                for name, holder in holders.items()
            ],
        }
    finally:
        await store.close()
