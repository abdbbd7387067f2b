"""Digits that are not ASCII (``¹``, ``٣``) name nothing; they never reach `int()` as a 500."""

from __future__ import annotations

import pytest

from tests.helpers.web import ApiWorld

NOT_ASCII = ["\u00b9", "\u00b2\u00b3", "\u0661", "1_0", "9" * 5000]


@pytest.mark.parametrize("employee", NOT_ASCII)
async def test_click_to_call_with_a_unicode_digit_employee(api: ApiWorld, employee: str) -> None:
    resp = await api.post(
        "/api/v1/calls", json={"employee": employee, "number": "+79000000001"}
    )
    body = await resp.json()
    assert resp.status in (404, 422), body
    assert "set_int_max_str_digits" not in body["error"]["message"]


async def test_an_employee_id_in_ascii_still_resolves(api: ApiWorld) -> None:
    alice = str(api.employees["alice"])
    resp = await api.post("/api/v1/calls", json={"employee": alice, "number": "+79000000001"})
    # alice exists, so the request gets as far as the missing PBX
    assert resp.status == 503, await resp.text()
