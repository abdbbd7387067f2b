"""Bearer-token authentication and the role checks every API handler makes.

Tokens are stored hashed by `TokenRepo`; the middleware only asks it who a token
belongs to, and remembers the answer for `TOKEN_CACHE_S` seconds (`TokenCache`), so a
dashboard refreshing five routes costs one lookup, and a revoked token stops working
within those seconds. Paths outside ``/api/`` (dashboard, static files, webhooks) and API
routes documented as public (health, the OpenAPI document) need no token.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.activity import ActivityStore, Principal
from hub.activity.contact_scope import ContactAccess
from hub.errors import PermissionDenied, Unauthenticated
from hub.web.errors import API_PREFIX
from hub.web.keys import PRINCIPAL, STORE
from hub.web.openapi import is_public

ADMIN = "admin"
HEAD = "head"
EMPLOYEE = "employee"
MARKETER = "marketer"
ALL_ROLES = (ADMIN, HEAD, EMPLOYEE, MARKETER)
#: Roles that may create and change contacts (each within its scope, decision 0024).
CONTACT_WRITERS = (ADMIN, HEAD, MARKETER)
#: Roles that may merge contacts and undo merges (both contacts in their scope).
CONTACT_MERGERS = (ADMIN, HEAD)
#: Roles that may claim an unowned lead for themselves.
CONTACT_CLAIMERS = (HEAD, EMPLOYEE)
#: Roles that may see activities (each within its visibility).
ACTIVITY_READERS = (ADMIN, HEAD, EMPLOYEE)
#: Longest token we bother to look up; ours are ~46 characters.
MAX_TOKEN_LENGTH = 256
#: How long a token's principal is remembered: the longest a revoked token still works.
TOKEN_CACHE_S = 3.0
#: Tokens remembered at most; past that, expired ones go, then all of them.
MAX_CACHED_TOKENS = 10_000


@dataclass
class TokenCache:
    """Principals of recently seen tokens, by the token's hash, for `ttl_s` seconds.

    Only tokens that were found are kept: a new token works at once, and unknown ones
    cannot fill the cache. Requests that miss while a token is being looked up wait for
    that lookup instead of starting their own (`lookup`): when an entry expires under
    load, fifty requests in flight cost one lookup, not fifty.
    """

    ttl_s: float = TOKEN_CACHE_S
    clock: Callable[[], float] = time.monotonic
    _known: dict[str, tuple[float, Principal]] = field(default_factory=dict)
    _pending: dict[str, asyncio.Task[Principal | None]] = field(default_factory=dict)

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        """The principal remembered for `token`, if still fresh."""
        found = self._known.get(self.key(token))
        if found is None:
            return None
        expires, who = found
        if self.clock() >= expires:
            del self._known[self.key(token)]
            return None
        return who

    def put(self, token: str, who: Principal) -> None:
        now = self.clock()
        if len(self._known) >= MAX_CACHED_TOKENS:
            self._known = {k: v for k, v in self._known.items() if v[0] > now}
            if len(self._known) >= MAX_CACHED_TOKENS:
                self._known.clear()
        self._known[self.key(token)] = (now + self.ttl_s, who)

    async def lookup(
        self, token: str, find: Callable[[str], Awaitable[Principal | None]]
    ) -> Principal | None:
        """The principal of `token`: remembered, being looked up, or `find`'s answer."""
        who = self.get(token)
        if who is not None:
            return who
        key = self.key(token)
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._find(key, token, find))
            task.add_done_callback(_retrieved)
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _find(
        self, key: str, token: str, find: Callable[[str], Awaitable[Principal | None]]
    ) -> Principal | None:
        try:
            who = await find(token)
        finally:
            del self._pending[key]
        if who is not None:
            self.put(token, who)
        return who


def _retrieved(task: asyncio.Task[Principal | None]) -> None:
    """Take a failure off a lookup whose requests all went away (no "never retrieved")."""
    if not task.cancelled():
        task.exception()


#: The app's token cache (`create_app` sets one; without it every request looks up).
TOKEN_CACHE = web.AppKey("token_cache", TokenCache)


def bearer_token(request: web.Request) -> str:
    """The token of an ``Authorization: Bearer …`` header, or `Unauthenticated`."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise Unauthenticated("this endpoint needs an 'Authorization: Bearer <token>' header")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token


async def authenticate(request: web.Request) -> Principal:
    """The principal behind the request's bearer token."""
    token = bearer_token(request)
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        raise Unauthenticated("the bearer token is unknown or revoked")
    cache = request.app.get(TOKEN_CACHE)
    tokens = request.app[STORE].tokens
    if cache is None:
        principal = await tokens.authenticate(token)
    else:
        principal = await cache.lookup(token, tokens.authenticate)
    if principal is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    return principal


def needs_token(request: web.Request) -> bool:
    """Whether this request must carry a token: matched API routes not marked public."""
    if not request.path.startswith(API_PREFIX):
        return False
    match = request.match_info
    if match.http_exception is not None:
        return False  # no such route: let the router answer 404/405
    return not is_public(match.handler)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Put the caller's `Principal` on the request, or refuse with 401."""
    if needs_token(request):
        request[PRINCIPAL] = await authenticate(request)
    return await handler(request)


def principal(request: web.Request) -> Principal:
    """The authenticated caller of this request."""
    try:
        return request[PRINCIPAL]
    except KeyError:
        raise Unauthenticated("this endpoint needs a bearer token") from None


def require(request: web.Request, *roles: str) -> Principal:
    """The caller, if their role is one of `roles`; otherwise `PermissionDenied`."""
    who = principal(request)
    if who.role not in roles:
        raise PermissionDenied(
            f"role {who.role!r} may not do this; it needs one of: {', '.join(roles)}"
        )
    return who


async def visible_employees(store: ActivityStore, who: Principal) -> frozenset[int] | None:
    """Employees whose activities `who` sees: None for all (admin), a head's subtree, or self."""
    visible = await store.employees.visible_to(who)
    return None if visible is None else frozenset(visible)


async def contact_access(store: ActivityStore, who: Principal) -> ContactAccess:
    """What `who` may do with contacts (decision 0024), computed once per request."""
    return ContactAccess.of(who, await store.employees.hierarchy())
