"""FastAGI router: tells the dialplan who a caller's responsible employee is.

The dialplan calls `AGI(agi://HUB:4573/route)` and then dials `${TOUCHHUB_EMPLOYEE}` when it
is set. The AGI protocol is spoken by pyst2 (its `AGI` class over the socket, one thread per
call — FastAGI is a handful of requests per second); the answer comes from an async lookup
callable run on the hub's event loop, so this module never imports the store.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socketserver
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from asterisk.agi import AGI

logger = logging.getLogger(__name__)

DEFAULT_AGI_PORT = 4573
#: Channel variable the dialplan reads the extension from (empty when unknown).
AGI_VARIABLE = "TOUCHHUB_EMPLOYEE"
#: How long a lookup may take before the call is routed the default way.
LOOKUP_TIMEOUT_S = 2.0
#: A FastAGI connection idle for this long is dropped.
SOCKET_TIMEOUT_S = 10.0

Lookup = Callable[[str], Awaitable[str | None]]


class _NullWriter:
    """Where pyst2's chatty debug output goes."""

    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        return None


class _SocketAGI(AGI):  # type: ignore[misc]
    """pyst2's AGI over a socket: its constructor's SIGHUP handler only works in the main thread."""

    def __init__(self, stdin: Any, stdout: Any) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = _NullWriter()
        self._got_sighup = False
        self.env: dict[str, str] = {}
        self._get_agi_env()


class _Handler(socketserver.StreamRequestHandler):
    timeout = SOCKET_TIMEOUT_S

    def handle(self) -> None:
        router: AgiRouter = self.server.router  # type: ignore[attr-defined]
        out = io.TextIOWrapper(self.wfile, encoding="utf-8", write_through=True)  # type: ignore[type-var]
        try:
            agi = _SocketAGI(self.rfile, out)
            phone = agi.env.get("agi_arg_1") or agi.env.get("agi_callerid", "")
            extension = router.resolve(phone)
            agi.set_variable(router.variable, extension or "")
        except Exception:  # one broken call must not stop the router
            logger.exception("FastAGI request from %s failed", self.client_address)
        finally:
            out.detach()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], router: AgiRouter) -> None:
        super().__init__(address, _Handler)
        self.router = router


class AgiRouter:
    """FastAGI server answering "which extension owns this caller?" from `lookup`."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_AGI_PORT,
        variable: str = AGI_VARIABLE,
        lookup_timeout: float = LOOKUP_TIMEOUT_S,
    ) -> None:
        self.lookup = lookup
        self.variable = variable
        self._address = (host, port)
        self._lookup_timeout = lookup_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the real port once started with port 0)."""
        if self._server is None:
            return self._address
        host, port = self._server.server_address[:2]
        return (str(host), int(port))

    async def start(self) -> None:
        """Listen and serve in a background thread."""
        self._loop = asyncio.get_running_loop()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="agi-router", daemon=True
        )
        self._thread.start()
        logger.info("FastAGI router listening on %s:%s", *self.address)

    async def stop(self) -> None:
        """Stop listening; calls being answered finish on their own threads."""
        if self._server is None:
            return
        server, self._server = self._server, None
        await asyncio.to_thread(server.shutdown)
        server.server_close()

    def resolve(self, phone: str) -> str | None:
        """Run the async lookup on the hub's loop (called from a handler thread)."""
        if not phone or phone == "unknown" or self._loop is None:
            return None
        future = asyncio.run_coroutine_threadsafe(_call(self.lookup, phone), self._loop)
        try:
            return future.result(self._lookup_timeout)
        except Exception:
            future.cancel()
            logger.warning("FastAGI lookup for %s failed or timed out", phone, exc_info=True)
            return None


async def _call(lookup: Lookup, phone: str) -> str | None:
    return await lookup(phone)
