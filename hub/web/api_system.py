"""System endpoints: health (public, for probes) and the OpenAPI document."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from hub.activity import ActivityStore
from hub.web.keys import HEALTH, HealthProbe
from hub.web.openapi import build_document, describe
from hub.web.schemas import HealthOut

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
TAG = "system"
#: Checkpoint key read by the default probe: a primary-key lookup, cheap at any size.
_PING = ("touchhub:health", "ping")
_dumps = functools.partial(json.dumps, default=str)


def store_health_probe(store: ActivityStore) -> HealthProbe:
    """The default probe: the store answers a trivial query, or the service is down."""

    async def probe() -> Mapping[str, Any]:
        try:
            await store.get_checkpoint(*_PING)
        except Exception as exc:  # any failure to read means the store is down
            logger.warning("health: store check failed: %s", exc)
            return {
                "status": "down",
                "store": {"ok": False, "dialect": store.dialect, "error": type(exc).__name__},
            }
        return {"status": "ok", "store": {"ok": True, "dialect": store.dialect}}

    return probe


@routes.get("/api/v1/health")
@describe(
    "Health of the store and adapters",
    tag=TAG,
    response=HealthOut,
    public=True,
    errors=(503,),
)
async def health(request: web.Request) -> web.Response:
    """Lets probes and operators see at a glance whether touchhub works; 503 when down."""
    try:
        document = dict(await request.app[HEALTH]())
    except Exception as exc:  # a probe that fails is itself the answer: down
        logger.warning("health probe failed: %s", exc)
        document = {"status": "down", "error": type(exc).__name__}
    status = 503 if document.get("status") == "down" else 200
    return web.json_response(document, status=status, dumps=_dumps)


@routes.get("/api/v1/openapi.json")
@describe("This OpenAPI document", tag=TAG, public=True)
async def openapi(request: web.Request) -> web.Response:
    """Generated from the routes themselves, so it can't drift from what the server does."""
    return web.json_response(build_document(request.app))
