"""The OpenAPI 3.1 document, generated from the routes and their pydantic models.

Each API handler carries an `Operation` (attached with `@describe(...)`): its summary,
body, query and response models, roles, and whether it is public. `build_document`
walks the app's router, so every registered route appears; routes nobody described
are listed with ``x-undocumented: true`` (a test keeps that list empty).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

import hub
from hub.campaigns import segment_schema

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])

OPENAPI_VERSION = "3.1.0"
API_TITLE = "touchhub REST API"
API_PREFIX = "/api/"
REF_TEMPLATE = "#/components/schemas/{model}"
_ATTRIBUTE = "__touchhub_operation__"
_PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_ERROR_TEXT = {
    400: "Malformed request: body not JSON, request line or header too long, bad encoding",
    401: "Missing, unknown or revoked bearer token",
    403: "The caller's role or visibility does not allow this",
    404: "No such item: the path, or a reference in the body or query (an employee id, an"
    " indicator, a gateway, a 30 February), names nothing; `error.field` says which",
    409: "Conflicts with what exists (e.g. an address owned by another contact)",
    413: "Request body larger than the server accepts",
    415: "The body is declared as something other than application/json",
    422: "Invalid input; `error.field` names the field",
    503: "The store (or a needed service) is unavailable",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """What the document says about one handler."""

    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    files: tuple[str, ...] = ()  # media types of a file answer (instead of `response`)
    status: int = 200
    roles: tuple[str, ...] = ()
    public: bool = False
    errors: tuple[int, ...] = ()
    #: Other success statuses with the same answer (201 created, 200 already there).
    also: tuple[int, ...] = ()


def describe(
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    files: tuple[str, ...] = (),
    status: int = 200,
    roles: tuple[str, ...] = (),
    public: bool = False,
    errors: tuple[int, ...] = (),
    also: tuple[int, ...] = (),
) -> Callable[[H], H]:
    """Attach an `Operation` to a handler; put it below the ``@routes.<method>`` line."""
    operation = Operation(
        summary=summary,
        tag=tag,
        body=body,
        query=query,
        response=response,
        files=files,
        status=status,
        roles=roles,
        public=public,
        errors=errors,
        also=also,
    )

    def attach(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, operation)
        return handler

    return attach


def operation_of(handler: object) -> Operation | None:
    """The `Operation` described for a handler, if any."""
    found = getattr(handler, _ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None


def is_public(handler: object) -> bool:
    """Whether a handler was described as needing no token."""
    found = operation_of(handler)
    return found is not None and found.public


@dataclass(frozen=True, slots=True)
class _Route:
    path: str
    method: str
    handler: Any
    operation: Operation | None


def api_routes(app: web.Application) -> Iterator[_Route]:
    """Every API route of the app (HEAD twins of GET left out)."""
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "*"):
            continue
        path = resource.canonical
        if path.startswith(API_PREFIX):
            yield _Route(path, route.method.lower(), route.handler, operation_of(route.handler))


def _models(routes: list[_Route]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    from hub.web.schemas import ErrorOut

    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorOut, "serialization")]
    for route in routes:
        op = route.operation
        if op is None:
            continue
        pairs: list[tuple[type[BaseModel] | None, Literal["validation", "serialization"]]] = [
            (op.body, "validation"),
            (op.query, "validation"),
            (op.response, "serialization"),
        ]
        for model, mode in pairs:
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    return wanted


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = components[ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _query_parameters(
    model_schema: dict[str, Any], components: dict[str, Any]
) -> list[dict[str, Any]]:
    schema = _resolve(model_schema, components)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
        }
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1}
            if name.endswith("id")
            else {"type": "string"},
        }
        for name in _PATH_PARAM.findall(path)
    ]


def _error(status: int) -> dict[str, Any]:
    return {
        "description": _ERROR_TEXT.get(status, "Error"),
        "content": {
            "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorOut")}}
        },
    }


def _operation(
    route: _Route,
    op: Operation,
    schemas: Mapping[tuple[Any, JsonSchemaMode], Any],
    components: dict[str, Any],
) -> dict[str, Any]:
    doc = (getattr(route.handler, "__doc__", None) or "").strip().splitlines()
    result: dict[str, Any] = {
        "operationId": f"{route.method}_{route.handler.__name__}",
        "summary": op.summary,
        "tags": [op.tag],
    }
    if doc:
        result["description"] = doc[0]
    if op.roles:
        result["x-roles"] = list(op.roles)
    params = _path_parameters(route.path)
    if op.query is not None:
        params += _query_parameters(schemas[(op.query, "validation")], components)
    if params:
        result["parameters"] = params
    if op.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas[(op.body, "validation")]}},
        }
    success: dict[str, Any] = {"description": op.summary}
    if op.files:
        success["content"] = {
            media: {"schema": {"type": "string", "format": "binary"}} for media in op.files
        }
    if op.response is not None:
        success["content"] = {
            "application/json": {"schema": schemas[(op.response, "serialization")]}
        }
    responses: dict[str, Any] = {str(code): success for code in (op.status, *op.also)}
    # Any request can be refused by the HTTP layer (an over-long line or header).
    codes = set(op.errors) | {400}
    if not op.public:
        codes |= {401, 403}
        result["security"] = [{"bearerAuth": []}]
    else:
        result["security"] = []
    if op.body is not None:
        codes |= {404, 413, 415, 422}
    if op.query is not None:
        codes |= {404, 422}
    if "{" in route.path:
        codes.add(404)
    for code in sorted(codes):
        responses[str(code)] = _error(code)
    result["responses"] = responses
    return result


#: Every text without a pattern or format of its own: no NUL character (`refuse_nul`).
NO_NUL_PATTERN = "^[^\\x00]*$"


def _no_nul(node: Any) -> None:
    """State the NUL rule on every plain string schema of the document (in place)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
            node["pattern"] = NO_NUL_PATTERN
        for value in node.values():
            _no_nul(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul(value)


def build_document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every API route registered on `app`."""
    routes = sorted(api_routes(app), key=lambda r: (r.path, r.method))
    schemas, defs = models_json_schema(_models(routes), ref_template=REF_TEMPLATE)
    components: dict[str, Any] = dict(defs.get("$defs", {}))
    components.update(segment_schema.components(REF_TEMPLATE.format(model="")))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        entry = paths.setdefault(route.path, {})
        if route.operation is None:
            entry[route.method] = {
                "summary": "undocumented",
                "x-undocumented": True,
                "parameters": _path_parameters(route.path),
                "responses": {"default": {"description": "not described"}},
            }
        else:
            entry[route.method] = _operation(route, route.operation, schemas, components)
    _no_nul(components)
    _no_nul(paths)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": API_TITLE, "version": hub.__version__},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token; the server keeps only its hash.",
                }
            },
        },
    }
