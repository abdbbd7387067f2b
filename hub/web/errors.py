"""Translating errors into JSON answers at the HTTP boundary, so nothing leaks as a 500.

Every answer that is not a success has the same body::

    {"error": {"code": "invalid", "message": "...", "field": "phones.0", "details": {...}}}

`ERROR_STATUS` maps the exception tree of `hub.errors` onto HTTP statuses in one table;
the most specific class wins. Pydantic validation errors become `ValidationError`s that
name the first offending field.

The `message` is in the requester's language (decision 0060): the first language of
``Accept-Language`` the hub speaks (the dashboard sends the one its user chose), else the
store's (`[web] locale`, else its time zone). `code`, `field` and `details` stay English.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pydantic
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_request import BaseRequest

from hub.errors import (
    CallRefused,
    ChannelAuthError,
    ChannelError,
    ChannelTimeout,
    ConfigError,
    Conflict,
    InvalidAddress,
    NotFound,
    PermissionDenied,
    RateLimited,
    StoreError,
    StoreUnavailable,
    TouchhubError,
    Unauthenticated,
    UnknownReference,
    ValidationError,
)
from hub.i18n import (
    accepted_locale,
    default_locale,
    error_message,
    text,
    validation_problem,
)
from hub.i18n import normalise as normalise_locale
from hub.web.keys import SETTINGS

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
#: Longest input value quoted back in a validation message.
MAX_QUOTED_INPUT = 80
#: What an unexpected failure (our bug) is told.
INTERNAL_MESSAGE = "internal error; it has been logged and will be looked at"


class MalformedBody(ValidationError):
    """The body is not JSON at all (as opposed to JSON with wrong content)."""


class UnsupportedMediaType(ValidationError):
    """The body is declared as something other than JSON (``text/plain``, a form …)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing pydantic found wrong: where, its kind, pydantic's words and context."""

    where: str
    kind: str
    english: str
    context: Mapping[str, Any]
    value: str | int | None

    def describe(self, locale: str) -> str:
        """The problem in `locale`: pydantic's words in English, the catalogue's otherwise."""
        lang = normalise_locale(locale)
        if lang == "en":
            return _describe_english(self)
        if self.kind == "extra_forbidden":
            return text(lang, "validation.unknown_field", field=self.where)
        described = f"{self.where}: {validation_problem(lang, self.kind, self.context)}"
        if self.kind != "missing" and self.value is not None:
            described += text(lang, "validation.got", value=_quoted(self.value))
        return described


class InvalidInput(ValidationError):
    """Input pydantic refused: every problem kept, so the answer can name them in any language."""

    def __init__(self, problems: tuple[Problem, ...], *, field: str | None) -> None:
        super().__init__("; ".join(p.describe("en") for p in problems), field=field)
        self.problems = problems

    def describe(self, locale: str) -> str:
        return "; ".join(p.describe(locale) for p in self.problems)


#: Exception class → (HTTP status, error code); looked up along the exception's MRO.
ERROR_STATUS: Mapping[type[BaseException], tuple[int, str]] = {
    Unauthenticated: (401, "unauthenticated"),
    MalformedBody: (400, "malformed_body"),
    UnsupportedMediaType: (415, "unsupported_media_type"),
    Conflict: (409, "conflict"),
    InvalidAddress: (422, "invalid_address"),
    UnknownReference: (404, "not_found"),
    ValidationError: (422, "invalid"),
    PermissionDenied: (403, "forbidden"),
    NotFound: (404, "not_found"),
    StoreUnavailable: (503, "store_unavailable"),
    StoreError: (503, "store_error"),
    RateLimited: (429, "rate_limited"),
    CallRefused: (409, "call_refused"),
    ChannelTimeout: (504, "upstream_timeout"),
    ChannelAuthError: (502, "upstream_refused"),
    ChannelError: (502, "upstream_error"),
    ConfigError: (503, "not_configured"),
    TouchhubError: (400, "bad_request"),
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The one shape of every error answer."""
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        error["details"] = dict(details)
    return web.json_response({"error": error}, status=status, headers=headers, dumps=_utf8_json)


def _utf8_json(data: Any) -> str:
    """JSON with its letters as they are (UTF-8, like every other answer), not ``\\uXXXX``."""
    return json.dumps(data, ensure_ascii=False)


def status_for(exc: BaseException) -> tuple[int, str]:
    """HTTP status and code for an exception of ours (by its most specific known class)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500, "internal"


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _quoted(value: str | int) -> str:
    return repr(value)


def _describe_english(problem: Problem) -> str:
    if problem.kind == "extra_forbidden":
        return f"unknown field {problem.where!r}"
    if problem.kind == "missing":
        return f"{problem.where}: required"
    described = f"{problem.where}: {problem.english}"
    if problem.value is not None:
        described += f" (got {_quoted(problem.value)})"
    return described


def _problem(error: Mapping[str, Any]) -> Problem:
    value = error.get("input")
    shown: str | int | None = None
    quotable = isinstance(value, str | int) and not isinstance(value, bool)
    if quotable and len(repr(value)) <= MAX_QUOTED_INPUT:
        shown = value
    return Problem(
        where=_loc(tuple(error["loc"])) or "body",
        kind=str(error["type"]),
        english=str(error["msg"]),
        context=dict(error.get("ctx") or {}),
        value=shown,
    )


def from_pydantic(exc: pydantic.ValidationError, *, prefix: str = "") -> ValidationError:
    """A `ValidationError` naming the first bad field and listing every problem."""
    errors = exc.errors(include_url=False)
    if not errors:
        return ValidationError(f"{prefix or 'input'} is invalid", field=prefix or None)
    first = _loc(tuple(errors[0]["loc"]))
    field = ".".join(p for p in (prefix, first) if p) or None
    return InvalidInput(tuple(_problem(e) for e in errors), field=field)


def requester_locale(request: BaseRequest, store_default: str | None = None) -> str:
    """The language of an answer: ``Accept-Language``'s first we speak, else the store's."""
    asked = accepted_locale(request.headers.get("Accept-Language"))
    if asked is not None:
        return asked
    if store_default is not None:
        return store_default
    app = request.app if isinstance(request, web.Request) else None
    settings = None if app is None else app.get(SETTINGS)
    if settings is None:
        return "en"
    return default_locale(settings.web.locale, settings.kpi.timezone)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.StreamResponse:
    """An aiohttp HTTP error (404, 405, 413 …) as our JSON body, on API paths only."""
    if exc.status < 400 or not request.path.startswith(API_PREFIX):
        raise exc
    try:
        phrase = HTTPStatus(exc.status).phrase
    except ValueError:
        phrase = "error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.text or phrase
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        code = "body_too_large"
    elif isinstance(exc, web.HTTPNotFound):
        message = f"no such endpoint: {request.method} {request.path}"
    elif isinstance(exc, web.HTTPMethodNotAllowed):
        message = f"{request.method} is not allowed here; allowed: {', '.join(exc.allowed_methods)}"
    headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
    locale = requester_locale(request)
    return error_response(
        exc.status, code, error_message(locale, code, message), headers=headers
    )


def localised(exc: TouchhubError, locale: str) -> str:
    """The message of `exc` in `locale` (its English text is the catalogue's key)."""
    if isinstance(exc, InvalidInput):
        return exc.describe(locale)
    field = exc.field if isinstance(exc, ValidationError) else None
    return error_message(locale, status_for(exc)[1], str(exc), field)


def _touchhub_error(exc: TouchhubError, locale: str) -> web.Response:
    status, code = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="touchhub"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    field = exc.field if isinstance(exc, ValidationError) else None
    details = exc.details if isinstance(exc, Conflict) else None
    message = localised(exc, locale)
    return error_response(status, code, message, field=field, details=details, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into a JSON answer with the right 4xx; log the unexpected."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _http_error(request, exc)
    except TouchhubError as exc:
        if status_for(exc)[0] >= 500:
            logger.warning("%s %s: %s", request.method, request.path, exc)
        return _touchhub_error(exc, requester_locale(request))
    except pydantic.ValidationError as exc:
        return _touchhub_error(from_pydantic(exc), requester_locale(request))
    except Exception:
        logger.exception("unexpected error in %s %s", request.method, request.path)
        message = error_message(requester_locale(request), "internal", INTERNAL_MESSAGE)
        return error_response(500, "internal", message)


# -- requests aiohttp refuses before any handler runs ---------------------------------

#: What a request refused by the HTTP parser is told; never the offending bytes.
PROTOCOL_ERROR_MESSAGES: Mapping[int, tuple[str, str]] = {
    400: ("bad_request", "the request line or a header is malformed or too large"),
    413: ("body_too_large", "the request body is too large"),
    431: ("headers_too_large", "the request headers are too large"),
}


class JsonErrorHandler(web.RequestHandler):
    """aiohttp's connection handler, answering requests its parser refuses in JSON.

    aiohttp answers an oversized request line or header with a plain-text 400 that
    quotes the first 100 bytes of it, and logs the same bytes with a traceback; when
    the header is `Authorization`, that is part of a bearer token. Here the answer has
    the API's error shape, and the log says only who was refused and why.
    """

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        code, message_en = PROTOCOL_ERROR_MESSAGES.get(status, ("internal", INTERNAL_MESSAGE))
        if status >= 500:
            # our bug, not the client's bytes: keep the traceback (the log formatter
            # masks any secret in it)
            logger.error("failed a request from %s: %d", request.remote, status, exc_info=exc)
        else:
            logger.warning(
                "refused a request from %s: %d %s (%s)",
                request.remote,
                status,
                code,
                type(exc).__name__ if exc is not None else "no exception",
            )
        if request.writer.output_size > 0:
            raise ConnectionError("the answer was already being sent")
        locale = requester_locale(request, getattr(self._manager, "locale", "en"))
        response = error_response(status, code, error_message(locale, code, message_en))
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    """An aiohttp server whose connections are `JsonErrorHandler`s; `locale` is the
    store's language, for requests that name none."""

    locale: str = "en"

    def __call__(self) -> web.RequestHandler:
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorAppRunner(web.AppRunner):
    """`web.AppRunner` serving `app` through `JsonErrorServer`; use it wherever the hub listens."""

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        server = JsonErrorServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )
        settings = self.app.get(SETTINGS)
        if settings is not None:
            server.locale = default_locale(settings.web.locale, settings.kpi.timezone)
        return server
