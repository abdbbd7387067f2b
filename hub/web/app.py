"""Building the aiohttp application: state, middlewares, the route modules, channel webhooks.

Each module named in `ROUTE_MODULES` exposes ``routes: web.RouteTableDef`` (and may
expose ``setup(app)`` for anything else it needs, e.g. a ``cleanup_ctx``); one that
cannot be imported is an error. Every registered channel's `routes` (its webhooks) are
added after them. Middlewares, outermost first: errors → JSON, body size, bearer auth.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.activity import ActivityStore
from hub.channels.plugin import ChannelPlugin
from hub.channels.registry import load_plugins
from hub.config import Settings
from hub.model import Sender, Sink
from hub.web.api_system import store_health_probe
from hub.web.auth import auth_middleware
from hub.web.errors import error_middleware
from hub.web.keys import HEALTH, SENDERS, SETTINGS, SINK, STORE, HealthProbe

logger = logging.getLogger(__name__)

#: Modules whose ``routes`` make up the app, in order (channels add theirs through the registry).
ROUTE_MODULES: tuple[str, ...] = (
    "hub.web.api_system",
    "hub.web.api_contacts",
    "hub.web.api_activities",
    "hub.web.api_employees",
    "hub.web.api_calls",
    "hub.web.api_sms",
    "hub.web.api_kpi",
    "hub.web.dashboard",
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


def create_app(
    store: ActivityStore,
    settings: Settings,
    *,
    health: HealthProbe | None = None,
    sink: Sink | None = None,
    senders: Mapping[str, Sender] | None = None,
    plugins: Sequence[ChannelPlugin[Any]] | None = None,
    extra_routes: Iterable[web.RouteTableDef | web.AbstractRouteDef] = (),
) -> web.Application:
    """The web app over an open store; the caller owns the store, the sink and the senders."""
    app = web.Application(
        middlewares=[error_middleware, body_limit_middleware, auth_middleware],
        client_max_size=settings.web.max_body_bytes,
    )
    app[STORE] = store
    app[SETTINGS] = settings
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
            app.router.add_routes(plugin.routes)
    app.router.add_routes(list(_route_defs(extra_routes)))
    return app
