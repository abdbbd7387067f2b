"""Typed aiohttp state keys, so handlers get the store and settings without globals.

Keys are open-ended: other modules may define their own `web.AppKey`s beside these;
optional ones (`LIVE_CALLS`, `ORIGINATE`, `SINK`) are absent until the runtime sets them,
so read them with `app.get(KEY)`. `SINK` is the store's batch writer: a channel's webhook
parses, `await app[SINK].put(touch)` and answers. `SENDERS` holds every channel's senders
keyed ``"{channel}:{key}"`` (``email:sales``), built by the runtime.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from hub.activity import ActivityStore, Principal
from hub.channels.capabilities import LiveCalls, Originate
from hub.channels.plugin import SENDERS as SENDERS
from hub.channels.plugin import SINK as SINK
from hub.config import Settings

#: Returns the health document (`{"status": "ok"|"degraded"|"down", ...}`).
HealthProbe = Callable[[], Awaitable[Mapping[str, Any]]]

STORE = web.AppKey("store", ActivityStore)
SETTINGS = web.AppKey("settings", Settings)
HEALTH = web.AppKey[HealthProbe]("health")
LIVE_CALLS = web.AppKey[LiveCalls]("live_calls")
ORIGINATE = web.AppKey[Originate]("originate")

#: Who is calling; set by the auth middleware on every authenticated API request.
PRINCIPAL = web.RequestKey("principal", Principal)
