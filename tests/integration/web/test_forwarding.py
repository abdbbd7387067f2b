"""A web-only worker's forwarding to the main process's internal port, in one process:
what is forwarded, what is answered locally, the secret, and a main process away."""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from hub.activity import ActivityStore
from hub.config import Settings
from hub.web.app import create_app
from hub.web.forwarding import SECRET_HEADER, Forwarder, internal_guard

SECRET = SecretStr("s" * 43)


async def _echo_main(request: web.Request) -> web.Response:
    body = await request.text()
    return web.json_response(
        {"by": "main", "method": request.method, "body": body, "q": request.query_string},
        status=201,
        headers={"X-From": "main"},
    )


async def _echo_worker(request: web.Request) -> web.Response:
    return web.json_response({"by": "worker"})


async def _worker(store: ActivityStore, url: str, secret: SecretStr) -> TestClient[web.Request, web.Application]:
    forwarder = Forwarder(url, secret)
    app = create_app(
        store,
        Settings(),
        front=[forwarder.middleware],
        extra_routes=[web.get("/hooks/test", _echo_worker), web.post("/hooks/test", _echo_worker)],
    )
    app.cleanup_ctx.append(forwarder.lifecycle)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_web_worker_forwards_writes_and_webhooks_and_answers_reads_itself(
    sqlite_store: ActivityStore,
) -> None:
    internal = socket.socket()
    internal.bind(("127.0.0.1", 0))
    port = internal.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    main_app = create_app(
        sqlite_store,
        Settings(),
        front=[internal_guard(port, SECRET)],
        extra_routes=[web.get("/hooks/test", _echo_main), web.post("/hooks/test", _echo_main)],
    )
    runner = web.AppRunner(main_app)
    await runner.setup()
    await web.SockSite(runner, internal).start()
    worker = await _worker(sqlite_store, url, SECRET)
    intruder = await _worker(sqlite_store, url, SecretStr("wrong"))
    try:
        resp = await worker.post("/hooks/test?a=1", data=b"payload")
        assert resp.status == 201 and resp.headers["X-From"] == "main"
        assert await resp.json() == {"by": "main", "method": "POST", "body": "payload", "q": "a=1"}
        resp = await worker.get("/hooks/test")  # webhooks are forwarded whatever the method
        assert (await resp.json())["by"] == "main"
        resp = await worker.post("/api/v1/calls", json={})  # worker 0 authenticates
        assert resp.status == 401
        resp = await worker.get("/api/v1/health")  # reads are the worker's own
        assert resp.status == 200 and "X-From" not in resp.headers

        # The internal port is no second way in: no secret, no answer.
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/v1/health") as direct:
                assert direct.status == 403
            async with http.get(
                f"{url}/api/v1/health", headers={SECRET_HEADER: SECRET.get_secret_value()}
            ) as direct:
                assert direct.status == 200
        resp = await intruder.post("/hooks/test", data=b"x")
        assert resp.status == 403

        await runner.cleanup()  # the main process is away: a clear 503, not a hang
        resp = await worker.post("/hooks/test", data=b"x")
        assert resp.status == 503
        assert "main process" in await resp.text()
    finally:
        await worker.close()
        await intruder.close()
        await runner.cleanup()
