"""Nothing reaches a 500: garbage ids, bodies and query strings on every API route."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.web.openapi import api_routes, operation_of
from tests.helpers.web import ApiWorld

GARBAGE_IDS = [
    "1",
    "0",
    "-1",
    "abc",
    "1.5",
    "\u0661",
    "99999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "%00",
    "1%20",
    "%F0%9F%98%80",
]
#: Every body field gets each of these (wrong types, sizes, NUL) ...
GARBAGE_VALUES: list[Any] = [
    None,
    -1,
    2**64,
    "",
    "x" * 20_000,
    [],
    {"a": 1},
    "\u0000",
    "\u00b9",  # superscript one: isdigit() says yes, int() says no
]
#: ... and two of these, in turn, so the table stays quick.
MORE_VALUES: list[Any] = [
    1.5,
    True,
    0,
    -(2**64),
    " ",
    [None],
    "2024-13-45",
    "2024-03-01T09:00:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "abc",
    "+7 495 123-45-67",
    "' OR 1=1 --",
    "\U0001f600",
    {"kind": "phone", "value": "x"},
    [{"kind": "phone", "value": "x"}],
    [{"kind": "extension", "value": "1"}],
    [[[[]]]],
    ["a@b.c", "a@b.c"],
    [{"kind": "phone", "value": "+74951234567"}] * 60,
]
RAW_BODIES: list[bytes] = [
    b"",
    b"null",
    b"{}",
    b"[]",
    b"0",
    b'"x"',
    b"{",
    b"\x00\xff",
    b'{"a":1}' * 3,
    b"[" * 5000,
    b'{"name": "\\ud800"}',
    b'{"name": "x", "custom": {"k": Infinity}}',
    json.dumps({"name": "x", "custom": {f"k{i}": i for i in range(100)}}).encode(),
    b'{"name": "x", "owner_employee_id": ' + b"9" * 5000 + b"}",
    b'{"name": "x", "custom": {"n": 1.' + b"5" * 5000 + b"}}",
]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


#: Every query parameter gets these; times and cursors get their own as well.
GARBAGE_QUERY = [
    "-1",
    "\u00b2",
    "\u0661",
    "abc",
    "99999999999999999999999",
    "\x00",
    "' OR 1=1 --",
    "\U0001f600" * 50,
    "2024-03-01T09:00:00",
    "1e3",
]
GARBAGE_TIMES = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2024-03-01T09:00:00+03:00",
    "2024-01-01",
]
GARBAGE_CURSORS = [
    _cursor("2024-01-01T00:00:00|1"),
    _cursor("2024-01-01T00:00:00+00:00|99999999999999999999"),
    _cursor("9999-12-31T23:59:59-14:00|1"),
    _cursor("x|y"),
    _cursor("a|b|c"),
    "====",
    "%",
]
SPECIFIC_QUERY = {"since": GARBAGE_TIMES, "until": GARBAGE_TIMES, "cursor": GARBAGE_CURSORS}


def routes_of(api: ApiWorld) -> list[tuple[str, str, Any]]:
    return [(r.method.upper(), r.path, operation_of(r.handler)) for r in api_routes(api.app)]


def paths_for(path: str) -> list[str]:
    if "{" not in path:
        return [path]
    return [path.replace("{id}", garbage) for garbage in GARBAGE_IDS]


async def check(api: ApiWorld, method: str, path: str, **kwargs: Any) -> None:
    resp = await api.call(method, path, **kwargs)
    text = (await resp.read()).decode("utf-8", "replace")  # a download is not text
    assert resp.status < 500, f"{method} {path} {kwargs}: {resp.status} {text[:500]}"
    if path.startswith("/api/") and resp.status >= 400:
        assert json.loads(text)["error"]["message"], text
        assert "set_int_max_str_digits" not in text, text


async def seed(api: ApiWorld) -> None:
    await api.post("/api/v1/contacts", json={"name": "Seed", "phones": ["+74951234567"]})
    await api.post("/api/v1/interactions", json={"channel": "task", "subject": "s"})


async def test_garbage_ids_and_raw_bodies_on_every_route(api: ApiWorld) -> None:
    await seed(api)
    for method, template, _ in routes_of(api):
        for path in paths_for(template):
            await check(api, method, path)
        path = template.replace("{id}", "1")
        for who in ("alice", "marketer", None):
            await check(api, method, path, who=who)
        if method in ("POST", "PATCH", "PUT"):
            for raw in RAW_BODIES:
                await check(api, method, path, data=raw)


async def test_garbage_field_values_on_every_body(api: ApiWorld) -> None:
    await seed(api)
    for method, path, operation in routes_of(api):
        if operation is None or operation.body is None:
            continue
        path = path.replace("{id}", "1")
        fields = list(operation.body.model_fields)
        for name in fields:
            turn = len(name) + len(path)
            extra = [MORE_VALUES[(turn + k) % len(MORE_VALUES)] for k in (0, 7)]
            for value in [*GARBAGE_VALUES, *extra]:
                body = {"name": "x", "channel": "task", "subject": "s", "result": "r", "into": 1}
                body = {k: v for k, v in body.items() if k in fields}
                body[name] = value
                await check(api, method, path, json=body)


async def test_garbage_query_parameters_on_every_listing(api: ApiWorld) -> None:
    await seed(api)
    for method, path, operation in routes_of(api):
        if operation is None or operation.query is None or method != "GET":
            continue
        path = path.replace("{id}", "1")
        for name in [*operation.query.model_fields, "unknown"]:
            for value in [*GARBAGE_QUERY, *SPECIFIC_QUERY.get(name, [])]:
                await check(api, method, path, params={name: value})
        await check(api, method, path, params={"cursor": GARBAGE_CURSORS[0]}, who="head")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
contact_fields = st.sampled_from(
    [
        "name",
        "phones",
        "emails",
        "addresses",
        "organization",
        "city",
        "custom",
        "is_lead",
        "owner_employee_id",
        "segment",
    ]
)


@pytest.mark.slow
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.dictionaries(contact_fields, json_values, max_size=5))
async def test_random_contact_bodies_never_500(api: ApiWorld, body: dict[str, Any]) -> None:
    for method, path in (("POST", "/api/v1/contacts"), ("PATCH", "/api/v1/contacts/1")):
        patch = {
            ("add_" + k if k in ("phones", "emails", "addresses") else k): v
            for k, v in body.items()
        }
        await check(api, method, path, json=body if method == "POST" else patch)
