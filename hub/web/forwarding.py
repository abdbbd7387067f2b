"""Web-only workers hand what needs the main process's memory to it, over loopback.

With `touchhub serve --workers N`, worker 0 (the main process) holds the AMI links
(`ORIGINATE`, `LIVE_CALLS`), the senders (`SENDERS`) and the batch writer (`SINK`);
the other workers hold only the store. A web-only worker therefore forwards every
request that may need them — any method other than GET/HEAD, the live-call lookup and
every channel webhook — to worker 0's internal port (127.0.0.1 only) and relays the
answer unchanged. Worker 0 authenticates the forwarded request as it would any other;
the internal port refuses requests that do not carry the workers' shared secret, so it
is no second way in.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict
from pydantic import SecretStr

#: Carries the secret shared by the main process and its web workers.
SECRET_HEADER = "X-Touchhub-Worker"
#: Paths (prefixes) a web-only worker never answers itself, whatever the method.
FORWARDED_PREFIXES: tuple[str, ...] = ("/api/v1/calls/live/", "/hooks/")
#: Methods a web-only worker answers from the store (unless the path is forwarded).
LOCAL_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: How long a forwarded request may take at worker 0 (a webhook, an SMS send).
FORWARD_TIMEOUT_S = 60.0
#: Hop-by-hop headers (RFC 9110 §7.6.1) and those aiohttp sets again for the relayed body.
_DROPPED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "accept-encoding",
    }
)


def needs_main(request: web.Request) -> bool:
    """Whether this request may touch state that lives only in the main process."""
    return request.method not in LOCAL_METHODS or request.path.startswith(FORWARDED_PREFIXES)


def _headers(source: Mapping[str, str]) -> CIMultiDict[str]:
    """The end-to-end headers of `source`, repeated ones (Set-Cookie) kept."""
    return CIMultiDict((k, v) for k, v in source.items() if k.lower() not in _DROPPED)


class Forwarder:
    """Forwards what `needs_main` to worker 0 at `main_url`; `middleware` answers the rest
    here. Put it in front of authentication: worker 0 authenticates forwarded requests."""

    def __init__(self, main_url: str, secret: SecretStr) -> None:
        self.base = main_url.rstrip("/")
        self.secret = secret
        self._session: aiohttp.ClientSession | None = None

        @web.middleware
        async def forward(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._forward(request, handler)

        self.middleware: Middleware = forward

    async def _forward(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not needs_main(request):
            return await handler(request)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
            )
        headers = _headers(request.headers)
        headers[SECRET_HEADER] = self.secret.get_secret_value()
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                self.base + request.rel_url.raw_path_qs,
                headers=headers,
                data=body if body else None,
                allow_redirects=False,
            ) as answer:
                payload = await answer.read()
                return web.Response(
                    status=answer.status, body=payload, headers=_headers(answer.headers)
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise web.HTTPServiceUnavailable(
                text=f"the main process does not answer ({type(exc).__name__}); try again"
            ) from exc

    async def lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        """A `cleanup_ctx`: the client session closes with the app."""
        yield
        if self._session is not None:
            await self._session.close()
            self._session = None


def internal_guard(port: int, secret: SecretStr) -> Middleware:
    """On worker 0: requests arriving at the internal `port` must carry the secret."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if isinstance(sockname, tuple) and len(sockname) >= 2 and sockname[1] == port:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
                raise web.HTTPForbidden(text="the internal port is for the hub's own workers")
        return await handler(request)

    return guard
