"""Typed aiohttp state keys, so handlers get the store and settings without globals.

Keys are open-ended: other modules may define their own `web.AppKey`s beside these;
optional ones (`LIVE_CALLS`, `ORIGINATE`) are absent until the runtime sets them, so
read them with `app.get(KEY)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from hub.activity import ActivityStore, Principal
from hub.config import Settings

#: Returns the health document (`{"status": "ok"|"degraded"|"down", ...}`).
HealthProbe = Callable[[], Awaitable[Mapping[str, Any]]]
#: Live state of one extension (e.g. "idle", "ringing", "talking"), None when unknown.
LiveCalls = Callable[[str], str | None]
#: Click-to-call: starts a call from an extension to a number; returns what the PBX said.
Originate = Callable[..., Awaitable[Any]]

STORE = web.AppKey("store", ActivityStore)
SETTINGS = web.AppKey("settings", Settings)
HEALTH = web.AppKey[HealthProbe]("health")
LIVE_CALLS = web.AppKey[LiveCalls]("live_calls")
ORIGINATE = web.AppKey[Originate]("originate")

#: Who is calling; set by the auth middleware on every authenticated API request.
PRINCIPAL = web.RequestKey("principal", Principal)
