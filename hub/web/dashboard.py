"""The web dashboard: one HTML page and its static assets, no build step, no CDN.

The page is a small vanilla-JS app that talks to the REST API with the user's bearer
token, so it needs no session of its own and no token to be served. Only files that
exist in `STATIC_DIR` when the app starts are served (no path walking), each with a
strict Content-Security-Policy so injected markup could not run scripts anyway.

The page's words come from `GET /i18n/{locale}.json` (no token needed: the login page is
translated too), the same catalogue the CLI and the exports use (decision 0038);
``default`` asks for the store's own language.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from hub.i18n import LOCALES, default_locale, messages, normalise
from hub.web.keys import SETTINGS

routes = web.RouteTableDef()

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/static/"
INDEX = "index.html"
#: Content types by suffix; anything else in the folder is not served.
CONTENT_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
#: Every dashboard answer carries these; scripts and styles come only from us.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Assets change with releases and are tiny: revalidate instead of serving stale code.
    "Cache-Control": "no-cache",
}


def static_files(root: Path = STATIC_DIR) -> dict[str, Path]:
    """Servable files under `root` by their URL path below ``/static/``."""
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


_FILES = static_files()


def _file(path: Path) -> web.FileResponse:
    headers = {**SECURITY_HEADERS, "Content-Type": CONTENT_TYPES[path.suffix]}
    return web.FileResponse(path, headers=headers)


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    """The dashboard page; the app inside routes by the URL hash."""
    path = _FILES.get(INDEX)
    if path is None:
        raise web.HTTPNotFound(text="the dashboard is not installed (hub/web/static is missing)")
    return _file(path)


@routes.get(STATIC_PREFIX + "{name:.+}")
async def static(request: web.Request) -> web.StreamResponse:
    """A dashboard asset, if it is one of the files shipped; nothing else on disk."""
    path = _FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound(text="no such dashboard file")
    return _file(path)


@routes.get("/i18n/{locale}.json")
async def catalogue(request: web.Request) -> web.StreamResponse:
    """The dashboard's words in one locale (``default``: the store's language), with the
    store's default and the locales a user may switch to."""
    settings = request.app[SETTINGS]
    store_default = default_locale(settings.web.locale, settings.kpi.timezone)
    asked = request.match_info["locale"]
    locale = store_default if asked == "default" else normalise(asked)
    body = {
        "locale": locale,
        "default": store_default,
        "locales": list(LOCALES),
        "messages": messages(locale),
    }
    return web.json_response(body, headers=dict(SECURITY_HEADERS))
