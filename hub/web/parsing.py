"""Reading requests into pydantic models and answers out of them, at the API edge.

Input that fails is a `ValidationError` naming the field (a 4xx); output that fails
its model is our bug, so it becomes a `RuntimeError` (a logged 500), never a 4xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeVar

import pydantic
from aiohttp import hdrs, web

from hub.errors import NotFound, ValidationError
from hub.web.errors import MalformedBody, UnsupportedMediaType, from_pydantic

M = TypeVar("M", bound=pydantic.BaseModel)

#: Largest id the databases can hold (signed 64-bit); bigger ones cannot exist.
MAX_ID = 2**63 - 1


#: Most digits a JSON number may have; the biggest id has 19. Longer ones are refused
#: before `int()` spends time on them or answers with Python's advice about its limit.
MAX_NUMBER_DIGITS = 40


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS * 10:
        raise ValueError(f"a number has more than {MAX_NUMBER_DIGITS * 10} characters")
    return float(text)


def parse_json(body: bytes) -> Any:
    """Decode a JSON body strictly (no NaN/Infinity); `MalformedBody` when it isn't JSON."""
    if not body.strip():
        raise MalformedBody("request body is empty; expected a JSON object")
    try:
        return json.loads(
            body,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedBody("request body is nested too deeply") from exc


def _nul_path(value: Any, path: str) -> str | None:
    """Where a NUL character sits in decoded JSON (a key or a string), if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return here
            found = _nul_path(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def refuse_nul(data: Any) -> None:
    """No text anywhere in a request may hold NUL: PostgreSQL cannot store it, and the
    OpenAPI document says so once for every string (`NO_NUL_PATTERN`)."""
    path = _nul_path(data, "")
    if path is not None:
        named = path.replace("\x00", "\\x00")  # the answer itself never carries a NUL
        raise ValidationError(f"{named or 'value'}: must not contain NUL characters", field=named)


def validate(model: type[M], data: Any, *, prefix: str = "") -> M:
    """`model` from already-decoded input; a `ValidationError` naming the field if it fails."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, prefix=prefix) from exc


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def check_json_type(request: web.Request) -> None:
    """A body declared as anything but JSON is a 415; a body with no type is read as JSON."""
    if hdrs.CONTENT_TYPE in request.headers and not _is_json(request.content_type):
        raise UnsupportedMediaType(
            f"the body is declared as {request.content_type[:100]!r}; "
            "send it as application/json",
            field="Content-Type",
        )


async def read_json(request: web.Request, model: type[M]) -> M:
    """The request body as `model`; size is capped by the app's `client_max_size` (413)."""
    check_json_type(request)
    data = parse_json(await request.read())
    if not isinstance(data, dict):
        raise ValidationError(
            f"request body must be a JSON object, not {type(data).__name__}", field=None
        )
    refuse_nul(data)
    return validate(model, data)


#: Paging parameters, refused with a message of their own when empty: ``?limit=`` is a
#: client's bug (a page size it forgot to fill in), and an empty cursor would restart a
#: listing from its first page. Other empty values are validated like any other value,
#: so ``?period=`` is refused as the document's pattern says and ``?q=`` is an empty search.
EMPTY_REFUSED = frozenset({"limit", "offset", "cursor", "page"})


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`; repeats and empty paging parameters (`EMPTY_REFUSED`)
    are refused, every other value is validated as it came."""
    data: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in request.query.items():
        refuse_nul({key: value})
        if key in seen:
            raise ValidationError(f"query parameter {key!r} is given more than once", field=key)
        seen.add(key)
        if value == "" and key in EMPTY_REFUSED:
            raise ValidationError(f"query parameter {key!r} is empty", field=key)
        data[key] = value
    return validate(model, data)


def path_id(request: web.Request, name: str = "id", *, what: str = "item") -> int:
    """An integer id from the path; anything else names nothing, so it is a 404."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise NotFound(f"{what} {raw!r} does not exist (ids are positive integers)")
    return int(raw)


def dump(model: type[pydantic.BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` shaped by the response `model`, as JSON-ready values."""
    try:
        return model.model_validate(data).model_dump(mode="json")
    except pydantic.ValidationError as exc:
        raise RuntimeError(f"response does not fit {model.__name__}: {exc}") from exc


def respond(
    model: type[pydantic.BaseModel],
    data: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A JSON answer shaped by `model` (serialised by pydantic's own JSON writer: a
    50-row page or a KPI table in a fifth of the time of a dict through `json.dumps`)."""
    return web.Response(
        body=dump_json(model, data),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def created(
    model: type[pydantic.BaseModel], data: Mapping[str, Any], location: str
) -> web.Response:
    """201 Created: `data` shaped by `model`, and the new item's path in ``Location``."""
    return respond(model, data, status=201, headers={hdrs.LOCATION: location})


def dump_json(model: type[pydantic.BaseModel], data: Mapping[str, Any]) -> bytes:
    """`data` shaped by the response `model`, as JSON bytes."""
    try:
        return model.model_validate(data).model_dump_json().encode()
    except pydantic.ValidationError as exc:
        raise RuntimeError(f"response does not fit {model.__name__}: {exc}") from exc


def dump_all(
    model: type[pydantic.BaseModel], rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Many rows shaped by `model`."""
    return [dump(model, row) for row in rows]
