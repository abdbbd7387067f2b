"""Building the aiohttp application: state, middlewares and the route modules.

Each module named in `ROUTE_MODULES` exposes ``routes: web.RouteTableDef`` (and may
expose ``setup(app)`` for anything else it needs, e.g. a ``cleanup_ctx``); modules
not written yet are skipped. Middlewares, outermost first: errors → JSON, body size,
bearer auth.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator
from types import ModuleType

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.activity import ActivityStore
from hub.config import Settings
from hub.web.api_system import store_health_probe
from hub.web.auth import auth_middleware
from hub.web.errors import error_middleware
from hub.web.keys import HEALTH, SETTINGS, STORE, HealthProbe

logger = logging.getLogger(__name__)

#: Modules whose ``routes`` make up the app, in order; absent ones are skipped.
ROUTE_MODULES: tuple[str, ...] = (
    "hub.web.api_system",
    "hub.web.api_contacts",
    "hub.web.api_activities",
    "hub.web.api_employees",
    "hub.web.api_calls",
    "hub.web.api_kpi",
    "hub.web.dashboard",
)


def load_route_modules(names: Iterable[str] = ROUTE_MODULES) -> list[ModuleType]:
    """Import the route modules that exist; a module missing its own import still fails."""
    modules = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            logger.debug("route module %s is not there; skipped", name)
            continue
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
    extra_routes: Iterable[web.RouteTableDef | web.AbstractRouteDef] = (),
) -> web.Application:
    """The web app over an open store; the caller owns the store and closes it."""
    app = web.Application(
        middlewares=[error_middleware, body_limit_middleware, auth_middleware],
        client_max_size=settings.web.max_body_bytes,
    )
    app[STORE] = store
    app[SETTINGS] = settings
    app[HEALTH] = health if health is not None else store_health_probe(store)
    for module in load_route_modules():
        app.router.add_routes(module.routes)
        setup = getattr(module, "setup", None)
        if callable(setup):
            setup(app)
    app.router.add_routes(list(_route_defs(extra_routes)))
    return app
