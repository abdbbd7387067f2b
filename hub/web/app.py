"""Building the aiohttp application: state, middlewares, the route modules, channel webhooks.

Each module named in `ROUTE_MODULES` exposes ``routes: web.RouteTableDef`` (and may
expose ``setup(app)`` for anything else it needs, e.g. a ``cleanup_ctx``); one that
cannot be imported is an error. Every registered channel's `routes` (its webhooks) are
added after them. Middlewares, outermost first: errors → JSON, gzip of large JSON answers,
conditional GET of API answers (ETag → 304), body size, bearer auth.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hub.activity import ActivityStore
from hub.channels.plugin import ChannelPlugin
from hub.channels.registry import load_plugins
from hub.config import Settings
from hub.model import Sender, Sink
from hub.web.api_system import store_health_probe
from hub.web.auth import TOKEN_CACHE, TokenCache, auth_middleware
from hub.web.errors import API_PREFIX, error_middleware
from hub.web.keys import HEALTH, SENDERS, SETTINGS, SINK, STORE, HealthProbe

logger = logging.getLogger(__name__)

#: JSON answers shorter than this go out as they are: gzip would cost more than it saves.
COMPRESS_MIN_BYTES = 2048
#: How API answers may be cached: by the caller only, and revalidated (ETag) every time.
API_CACHE_CONTROL = "private, no-cache"

#: Modules whose ``routes`` make up the app, in order (channels add theirs through the registry).
ROUTE_MODULES: tuple[str, ...] = (
    "hub.web.api_system",
    "hub.web.api_contacts",
    "hub.web.api_activities",
    "hub.web.api_dialogs",
    "hub.web.api_employees",
    "hub.web.api_calls",
    "hub.web.api_sms",
    "hub.web.api_kpi",
    "hub.web.api_suppressions",
    "hub.web.api_campaigns",
    "hub.web.api_segments",
    "hub.web.api_templates",
    "hub.web.api_triggers",
    "hub.web.api_call_rounds",
    "hub.web.dashboard",
    "hub.web.unsubscribe_pages",
)


def load_route_modules(names: Iterable[str] = ROUTE_MODULES) -> list[ModuleType]:
    """Import the route modules; each must expose ``routes: web.RouteTableDef``."""
    modules = []
    for name in names:
        module = importlib.import_module(name)
        if not isinstance(getattr(module, "routes", None), web.RouteTableDef):
            raise TypeError(f"{name} must expose `routes: web.RouteTableDef`")
        modules.append(module)
    return modules


def _route_defs(
    extra: Iterable[web.RouteTableDef | web.AbstractRouteDef],
) -> Iterator[web.AbstractRouteDef]:
    for item in extra:
        if isinstance(item, web.RouteTableDef):
            yield from item
        else:
            yield item


@web.middleware
async def body_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a declared oversized body before reading it; chunked ones stop at `read()`."""
    limit = request.app[SETTINGS].web.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit,
            actual_size=length,
            text=f"request body of {length} bytes exceeds the limit of {limit} bytes",
        )
    return await handler(request)


def _body(response: web.StreamResponse) -> bytes | None:
    """The body of a fully built response (not a stream or a file), else None."""
    if type(response) is not web.Response or not isinstance(response.body, bytes):
        return None
    return response.body


@web.middleware
async def compression_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Gzip large JSON answers for clients that accept it (a 50-row page shrinks ~8×)."""
    response = await handler(request)
    body = _body(response)
    if (
        body is not None
        and len(body) >= COMPRESS_MIN_BYTES
        and response.content_type == "application/json"
        and "gzip" in request.headers.get("Accept-Encoding", "").lower()
        and "Content-Encoding" not in response.headers  # gzipped once already (prepared)
    ):
        response.enable_compression(web.ContentCoding.gzip)
    return response


def etag_of(body: bytes) -> str:
    """A weak validator of an answer's JSON (weak: the gzipped bytes differ)."""
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


@web.middleware
async def conditional_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """An ETag on every API GET answer, and 304 Not Modified when the caller has it already
    (a dashboard polling a closed month's KPI table gets no body back)."""
    response = await handler(request)
    body = _body(response)
    if (
        request.method != "GET"
        or response.status != 200
        or body is None
        or not request.path.startswith(API_PREFIX)
    ):
        return response
    tag = response.headers.get("ETag") or etag_of(body)  # a prepared answer has its own
    response.headers["ETag"] = tag
    response.headers.setdefault("Cache-Control", API_CACHE_CONTROL)
    wanted = request.headers.get("If-None-Match", "")
    if tag in (t.strip() for t in wanted.split(",")) or wanted.strip() == "*":
        return web.Response(
            status=304,
            headers={"ETag": tag, "Cache-Control": response.headers["Cache-Control"]},
        )
    return response


def create_app(
    store: ActivityStore,
    settings: Settings,
    *,
    health: HealthProbe | None = None,
    sink: Sink | None = None,
    senders: Mapping[str, Sender] | None = None,
    plugins: Sequence[ChannelPlugin[Any]] | None = None,
    extra_routes: Iterable[web.RouteTableDef | web.AbstractRouteDef] = (),
    token_cache: TokenCache | None = None,
    front: Sequence[Middleware] = (),
) -> web.Application:
    """The web app over an open store; the caller owns the store, the sink and the senders.

    `front` middlewares run inside errors, gzip and conditional GET, before the body limit
    and auth (`hub.web.forwarding`: a web-only worker's forwarding, so forwarded answers
    are gzipped and tagged like any; worker 0's internal port guard).
    """
    app = web.Application(
        middlewares=[
            error_middleware,
            compression_middleware,
            conditional_middleware,
            *front,
            body_limit_middleware,
            auth_middleware,
        ],
        client_max_size=settings.web.max_body_bytes,
    )
    app[STORE] = store
    app[SETTINGS] = settings
    app[TOKEN_CACHE] = token_cache if token_cache is not None else TokenCache()
    app[HEALTH] = health if health is not None else store_health_probe(store)
    if sink is not None:
        app[SINK] = sink
    app[SENDERS] = dict(senders or {})
    for module in load_route_modules():
        app.router.add_routes(module.routes)
        setup = getattr(module, "setup", None)
        if callable(setup):
            setup(app)
    for plugin in load_plugins() if plugins is None else plugins:
        if plugin.routes is not None:
            app.router.add_routes(plugin.routes())
    app.router.add_routes(list(_route_defs(extra_routes)))
    return app
