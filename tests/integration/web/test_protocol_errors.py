"""Requests the HTTP parser refuses: a JSON answer that quotes nothing, and a log without
the `Authorization` value, checked on `touchhub serve` itself with its stderr captured."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from tests.helpers.postgres import free_port

START_S = 60
#: Longer than aiohttp's 8190-byte limit for a request line or a header field.
OVERSIZED = 9000


@dataclass
class Served:
    port: int
    token: str
    process: asyncio.subprocess.Process
    log: list[str]


async def _read_log(stream: asyncio.StreamReader, log: list[str], ready: asyncio.Event) -> None:
    while line := await stream.readline():
        log.append(line.decode("utf-8", "replace"))
        if "touchhub is running" in log[-1]:
            ready.set()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """`touchhub serve` on loopback over a store holding one admin token."""
    port = free_port()
    url = f"sqlite:///{tmp_path}/hub.db"
    store = await ActivityStore.open(url)
    token = await store.tokens.create("admin", "admin")
    await store.close()
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "{url}"\n[web]\nport = {port}\n'
        '[logging]\nlevel = "DEBUG"\n',
        encoding="utf-8",
    )
    exe = str(Path(sys.executable).with_name("touchhub"))
    process = await asyncio.create_subprocess_exec(
        exe,
        "--config",
        str(config),
        "--lang",
        "en",
        "serve",
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    log: list[str] = []
    ready = asyncio.Event()
    reader = asyncio.create_task(_read_log(process.stderr, log, ready))
    try:
        await asyncio.wait_for(ready.wait(), START_S)
        yield Served(port, token, process, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), START_S)
        await reader


async def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `data` as it is; the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _requests(token: str) -> dict[str, bytes]:
    filler = "x" * OVERSIZED
    return {
        "long authorization": (
            f"GET /api/v1/contacts HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {token}{filler}"
            "\r\n\r\n"
        ).encode(),
        "long request line": (
            f"GET /api/v1/contacts?q={token}{filler} HTTP/1.1\r\nHost: h\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode(),
        "long other header": (
            f"GET /api/v1/contacts HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {token}\r\n"
            f"X-Note: {filler}\r\n\r\n"
        ).encode(),
        "bad header line": (
            f"GET /api/v1/contacts HTTP/1.1\r\nAuthorization: Bearer {token}\r\nbroken\x01\r\n\r\n"
        ).encode(),
    }


async def test_refused_requests_answer_json_and_never_log_the_token(served: Served) -> None:
    secret = served.token[3:]  # "th_" is the public prefix; the rest is the secret
    for name, data in _requests(served.token).items():
        status, headers, body = await raw_request(served.port, data)
        assert 400 <= status < 500, (name, status, body[:200])
        assert headers["content-type"].startswith("application/json"), (name, headers)
        error = json.loads(body)["error"]
        assert error["code"] and error["message"], name
        assert secret[:8] not in body.decode("utf-8", "replace"), name
        assert "x" * 20 not in body.decode("utf-8", "replace"), name
    # a well-formed request still works: the server is fine
    ok = b"GET /api/v1/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    assert (await raw_request(served.port, ok))[0] == 200
    await asyncio.sleep(0.5)  # let the last log lines arrive
    log = "".join(served.log)
    assert "refused a request" in log, log[-2000:]
    assert secret[:8] not in log, "the token reached the log"
    assert "x" * 20 not in log, "the refused bytes reached the log"
