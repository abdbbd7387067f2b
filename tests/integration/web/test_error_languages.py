"""Error answers in the requester's language: every kind walked in Russian and English.

The `code`, `field` and `details` stay English; the `message` is the catalogue's in the
language of ``Accept-Language`` (else the store's: Russian for a Moscow store), with no
English word left in a Russian answer and no message falling back to its kind alone
(a shape the catalogue lacks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.activity import ActivityStore
from hub.config import Settings, WebSettings
from hub.i18n import kind_message, text
from hub.i18n.api_errors import shape_of
from hub.web.keys import SETTINGS
from tests.helpers.web import ApiWorld, api_world


@dataclass(frozen=True)
class Case:
    status: int
    method: str
    path: str
    json: Any = None
    data: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    who: str | None = "admin"


#: Words that may stay Latin in a Russian message: names of fields, methods, formats and
#: headers (codes), and what the request itself sent.
ALLOWED = {
    "json", "application", "authorization", "bearer", "content", "type", "get", "post",
    "patch", "delete", "put", "head", "options", "api", "mail", "null", "true", "false", "nul", "utf",
}  # fmt: skip
LATIN = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
#: A configuration key named as it is written in the file (``[telephony.pbx.NAME]``).
CONFIG_KEY = re.compile(r"\[[\w.]+\]")


def _cases(limit: int, contact: int, phone: str) -> dict[str, Case]:
    return {
        # 401
        "no token": Case(401, "GET", "/api/v1/contacts", who=None),
        "bad scheme": Case(
            401, "GET", "/api/v1/contacts", who=None, headers=(("Authorization", "Basic eA=="),)
        ),
        "unknown token": Case(
            401, "GET", "/api/v1/contacts", who=None, headers=(("Authorization", "Bearer nope"),)
        ),
        # 403
        "role": Case(403, "POST", "/api/v1/kpi/close-month", json={"month": "2024-01"}, who="alice"),
        # 404
        "no endpoint": Case(404, "GET", "/api/v1/nothing-here"),
        "bad id": Case(404, "GET", "/api/v1/contacts/abc"),
        "no contact": Case(404, "GET", "/api/v1/contacts/999999"),
        "no owner": Case(
            404, "POST", "/api/v1/contacts", json={"name": "Икс", "owner_employee_id": 999999}
        ),
        # 405
        "method": Case(405, "PUT", "/api/v1/contacts"),
        # 409
        "taken phone": Case(409, "POST", "/api/v1/contacts", json={"name": "Два", "phones": [phone]}),
        "merge into itself": Case(
            409, "POST", f"/api/v1/contacts/{contact}/merge", json={"into": contact}
        ),
        # 413, 415
        "too large": Case(413, "POST", "/api/v1/contacts", data=b'{"name": "' + b"x" * limit + b'"}'),
        "media type": Case(
            415, "POST", "/api/v1/contacts", data=b"name", headers=(("Content-Type", "text/plain"),)
        ),
        # 400, 422: bodies and values
        "empty body": Case(400, "POST", "/api/v1/contacts", data=b""),
        "not json": Case(400, "POST", "/api/v1/contacts", data=b"{"),
        "not an object": Case(422, "POST", "/api/v1/contacts", data=b"[]"),
        "missing": Case(422, "POST", "/api/v1/contacts", json={}),
        "unknown field": Case(422, "POST", "/api/v1/contacts", json={"name": "Икс", "nmae": "у"}),
        "wrong type": Case(422, "POST", "/api/v1/contacts", json={"name": 5}),
        "too long": Case(422, "POST", "/api/v1/contacts", json={"name": "я" * 1000}),
        "bad phone": Case(422, "POST", "/api/v1/contacts", json={"name": "Икс", "phones": ["12"]}),
        "bad e-mail": Case(
            422, "POST", "/api/v1/contacts", json={"name": "Икс", "emails": ["нет"]}
        ),
        "nul": Case(422, "POST", "/api/v1/contacts", json={"name": "a\x00b"}),
        "repeated": Case(422, "GET", "/api/v1/contacts?q=1&q=2"),
        "empty limit": Case(422, "GET", "/api/v1/contacts", params=(("limit", ""),)),
        "bad period": Case(422, "GET", "/api/v1/kpi", params=(("period", "2024-13"),)),
        "no campaign": Case(404, "GET", "/api/v1/campaigns/999999"),
        "no template": Case(
            404, "POST", "/api/v1/campaigns",
            json={"name": "Зима", "template_id": 999999, "segment": {"all": []}, "sender": "x"},
        ),
        "no suppression": Case(404, "DELETE", "/api/v1/suppressions/999999"),
        # 503
        "not configured": Case(
            503, "POST", "/api/v1/calls", json={"employee": "101", "number": "+74951234567"}
        ),
    }


async def _answer(api: ApiWorld, case: Case, language: str | None) -> dict[str, Any]:
    headers = dict(case.headers)
    headers["Accept-Language"] = language or ""
    resp = await api.call(
        case.method,
        case.path,
        who=case.who,
        json=case.json,
        data=case.data,
        params=dict(case.params) if case.params else None,
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == case.status, (case, body)
    error: dict[str, Any] = body["error"]
    return error


def _english_words(message: str, sent: str, field: str | None) -> list[str]:
    allowed = ALLOWED | {p.lower() for p in re.split(r"[.\-_]", field or "") if p}
    words = LATIN.findall(CONFIG_KEY.sub("", message))
    return [
        w for w in words
        if w.lower() not in allowed and w not in sent
    ]  # fmt: skip


async def test_every_error_kind_speaks_russian_and_english(api: ApiWorld) -> None:
    contact = await api.post("/api/v1/contacts", json={"name": "Первый", "phones": ["+74951234567"]})
    contact_id = (await contact.json())["id"]
    limit = api.app[SETTINGS].web.max_body_bytes
    fallbacks = {kind: kind_message("ru", kind) for kind in ("invalid", "not_found", "conflict")}
    for name, case in _cases(limit + 10, contact_id, "8 495 123-45-67").items():
        english = await _answer(api, case, "en")
        russian = await _answer(api, case, "ru-RU,ru;q=0.9,en;q=0.5")
        by_default = await _answer(api, case, None)  # a Moscow store speaks Russian
        assert english["code"] == russian["code"] == by_default["code"], name
        assert english["field"] == russian["field"], name
        assert english.get("details") == russian.get("details"), name
        assert russian["message"] == by_default["message"], name
        assert russian["message"] != english["message"], (name, english["message"])
        assert re.search("[а-яА-ЯёЁ]", russian["message"]), (name, russian["message"])
        sent = repr(case.json) + repr(case.params) + (case.data or b"")[:200].decode(errors="ignore")
        sent += case.path + repr(case.headers)
        leftover = _english_words(russian["message"], sent, russian["field"])
        assert not leftover, (name, russian["message"], leftover)
        # no missing key: the message had a known shape, not just its kind
        assert not russian["message"].startswith(tuple(fallbacks.values())), (name, russian)
        assert text("ru", "validation.other") not in russian["message"], (name, russian)


async def test_english_messages_keep_their_words(api: ApiWorld) -> None:
    """English answers are what the code raises (and what the catalogue's shapes match)."""
    resp = await api.get("/api/v1/contacts/999999", headers={"Accept-Language": "en-GB"})
    error = (await resp.json())["error"]
    assert error["message"] == "contact #999999 does not exist"
    assert shape_of(error["message"]) == ("api_error.contact_missing", {"id": "999999"})
    resp = await api.get("/api/v1/contacts/999999", headers={"Accept-Language": "de, ru;q=0.3"})
    assert (await resp.json())["error"]["message"] == "контакта №999999 нет"


async def test_an_english_store_answers_english_without_accept_language(tmp_path: Path) -> None:
    store = await ActivityStore.open(f"sqlite:///{tmp_path / 'en.db'}")
    try:
        settings = Settings(web=WebSettings(locale="en"))
        async with api_world(store, settings=settings) as api:
            resp = await api.get("/api/v1/contacts/999999", headers={"Accept-Language": ""})
            assert (await resp.json())["error"]["message"] == "contact #999999 does not exist"
            resp = await api.get("/api/v1/contacts/999999", headers={"Accept-Language": "ru"})
            assert (await resp.json())["error"]["message"] == "контакта №999999 нет"
    finally:
        await store.close()
