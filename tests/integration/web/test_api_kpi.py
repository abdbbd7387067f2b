"""KPI over the API: the CLI's numbers, visibility by hierarchy, drill-down, monitor, plans, close."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event

from hub.model import Channel, Direction, Status
from kpi.service import KpiService
from kpi.viewer import Viewer
from tests.helpers.web import T0, ApiWorld, hours, phone

#: T0 is 2024-03-01 09:00 UTC: March is the month under test, February the one before.
MARCH = "2024-03"
FEBRUARY = "2024-02"
CLI_KEYS = (
    "employee", "indicator", "period", "fact", "plan", "percent", "colour", "trend", "direction",
    "period_plan",
)  # fmt: skip


async def ok(api: ApiWorld, method: str, path: str, **kwargs: Any) -> Any:
    resp = await api.call(method, path, **kwargs)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def error(
    api: ApiWorld, method: str, path: str, status: int, **kwargs: Any
) -> dict[str, Any]:
    resp = await api.call(method, path, **kwargs)
    body = await resp.json()
    assert resp.status == status, body
    detail: dict[str, Any] = body["error"]
    assert detail["message"]
    return detail


async def calls(api: ApiWorld, employee: str, n: int, *, month_offset_h: float = 0) -> None:
    """`n` outbound client calls by `employee`, an hour apart, from T0 + offset."""
    for i in range(n):
        await api.record(
            employee=employee,
            channel=Channel.CALL,
            direction=Direction.OUT,
            status=Status.ANSWERED,
            counterpart=phone(f"+749511{len(employee):02d}{i:03d}"),
            at=T0 + hours(month_offset_h + i),
        )


async def seeded(api: ApiWorld) -> None:
    """Alice: 5 calls in March, 2 in February; Bob: 1 in March. Plans: 10 each."""
    await calls(api, "alice", 5)
    await calls(api, "alice", 2, month_offset_h=-24 * 5)
    await calls(api, "bob", 1, month_offset_h=2)
    body = {"indicator": "outbound_calls", "month": MARCH, "value": 10}
    await ok(
        api,
        "POST",
        "/api/v1/kpi/plans",
        who="head",
        json={**body, "employee": api.employees["alice"]},
    )
    await ok(
        api,
        "POST",
        "/api/v1/kpi/plans",
        who="head",
        json={**body, "employee": api.employees["bob"], "value": 1},
    )


def cell(table: dict[str, Any], employee: int, indicator: str) -> dict[str, Any]:
    found = [c for c in table["cells"] if c["employee"] == employee and c["indicator"] == indicator]
    assert len(found) == 1, found
    one: dict[str, Any] = found[0]
    return one


async def test_table_has_the_cli_numbers(api: ApiWorld) -> None:
    await seeded(api)
    alice = api.employees["alice"]
    table = await ok(api, "GET", "/api/v1/kpi", who="head", params={"period": MARCH})
    assert table["period"] == MARCH and table["previous_period"] == FEBRUARY
    assert table["closed"] is False
    mine = cell(table, alice, "outbound_calls")
    assert {k: mine[k] for k in CLI_KEYS} == {
        "employee": alice,
        "indicator": "outbound_calls",
        "period": MARCH,
        "fact": 5,
        "plan": 10,
        "percent": 50.0,
        "colour": "yellow",
        "trend": "better",
        "direction": "up",
        "period_plan": 10,
    }
    # March 2024 has ended: judged whole, against the whole of February (29 days).
    assert table["span"] == {
        "started": True,
        "running": False,
        "partial": False,
        "first_day": "2024-03-01",
        "last_day": "2024-03-31",
        "working_days": 21,
        "working_days_total": 21,
        "previous_first_day": "2024-02-01",
        "previous_last_day": "2024-02-29",
    }
    # The CLI prints KpiService cells' as_dict(); the API must say exactly the same.
    service = KpiService(api.store)
    expected = await service.table(Viewer.admin(), MARCH)
    for want in expected.cells:
        if want.employee in {e["id"] for e in table["employees"]}:
            got = cell(table, want.employee, want.indicator)
            assert {k: got[k] for k in CLI_KEYS} == {k: want.as_dict()[k] for k in CLI_KEYS}
    bob = cell(table, api.employees["bob"], "outbound_calls")
    assert (bob["fact"], bob["colour"]) == (1, "green")


async def test_indicator_filter_and_default_period(api: ApiWorld) -> None:
    table = await ok(
        api, "GET", "/api/v1/kpi", who="alice", params={"indicator": "outbound_calls,meetings_held"}
    )
    assert table["indicators"] == ["outbound_calls", "meetings_held"]
    assert len(table["cells"]) == 2
    me = await ok(api, "GET", "/api/v1/kpi/me", who="alice")
    assert table["period"] == me["period"]


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("admin", {"boss", "head", "alice", "bob", "carol"}),
        ("head", {"head", "alice", "bob"}),
        ("alice", {"alice"}),
        ("carol", {"carol"}),
    ],
)
async def test_visibility_follows_the_hierarchy(api: ApiWorld, who: str, sees: set[str]) -> None:
    table = await ok(api, "GET", "/api/v1/kpi", who=who, params={"period": MARCH})
    assert {c["employee"] for c in table["cells"]} == {api.employees[n] for n in sees}


@pytest.mark.parametrize(("who", "other"), [("alice", "bob"), ("head", "carol"), ("head", "boss")])
async def test_nobody_sees_outside_their_subtree(api: ApiWorld, who: str, other: str) -> None:
    params = {"period": MARCH, "employee": str(api.employees[other])}
    await error(api, "GET", "/api/v1/kpi", 403, who=who, params=params)
    drill = {**params, "indicator": "outbound_calls"}
    await error(api, "GET", "/api/v1/kpi/drill", 403, who=who, params=drill)


async def test_marketers_and_strangers_have_no_kpi(api: ApiWorld) -> None:
    for path in ("/api/v1/kpi", "/api/v1/kpi/me", "/api/v1/kpi/indicators"):
        await error(api, "GET", path, 403, who="marketer")
        await error(api, "GET", path, 401, who=None)


async def test_bad_period_and_unknown_employee(api: ApiWorld) -> None:
    detail = await error(api, "GET", "/api/v1/kpi", 422, params={"period": "2024-13"})
    assert detail["field"] == "period"
    detail = await error(api, "GET", "/api/v1/kpi", 422, params={"period": "March"})
    assert "YYYY-MM" in detail["message"]
    await error(api, "GET", "/api/v1/kpi", 404, params={"employee": "999999"})
    detail = await error(api, "GET", "/api/v1/kpi", 404, params={"indicator": "nope"})
    assert detail["field"] == "indicator" and "nope" in detail["message"]
    detail = await error(api, "GET", "/api/v1/kpi", 404, params={"period": "2026-02-30"})
    assert detail["field"] == "period" and "no period" in detail["message"]


async def test_indicators_catalogue(api: ApiWorld) -> None:
    body = await ok(api, "GET", "/api/v1/kpi/indicators", who="alice")
    by_code = {i["code"]: i for i in body["items"]}
    assert by_code["outbound_calls"]["additive"] is True
    assert by_code["client_base_quality"]["additive"] is False
    assert by_code["overdue_interactions"]["lower_is_better"] is True


async def test_me_says_what_the_dashboard_may_offer(api: ApiWorld) -> None:
    head = await ok(api, "GET", "/api/v1/kpi/me", who="head")
    assert head["employee_id"] == api.employees["head"] and head["employee_name"] == "Helen Head"
    assert (head["can_monitor"], head["can_plan"], head["can_close"]) == (True, True, False)
    assert {p["id"] for p in head["plannable"]} == {api.employees["alice"], api.employees["bob"]}
    alice = await ok(api, "GET", "/api/v1/kpi/me", who="alice")
    assert (alice["can_monitor"], alice["can_plan"], alice["plannable"]) == (False, False, [])
    admin = await ok(api, "GET", "/api/v1/kpi/me", who="admin")
    assert admin["can_close"] and admin["employee_id"] is None
    assert len(admin["plannable"]) == len(api.employees)


# -- drill-down ---------------------------------------------------------------------------


async def test_drill_lists_exactly_what_the_fact_counts(api: ApiWorld) -> None:
    await seeded(api)
    alice = str(api.employees["alice"])
    params = {"indicator": "outbound_calls", "employee": alice, "period": MARCH}
    page = await ok(api, "GET", "/api/v1/kpi/drill", who="head", params=params)
    assert page["count"] == 5 and len(page["items"]) == 5 and page["kind"] == "activities"
    assert page["pages"] == 1
    for item in page["items"]:
        assert item["employee_id"] == api.employees["alice"]
        assert item["channel"] == "call" and item["direction"] == "out"
        assert item["contact_id"] and item["contact_name"]
    # An employee drills into their own numbers without naming themselves.
    own = await ok(api, "GET", "/api/v1/kpi/drill", who="alice", params=params)
    assert own["count"] == 5
    # An empty value is a value, and not an employee id.
    detail = await error(
        api, "GET", "/api/v1/kpi/drill", 422, who="alice", params={**params, "employee": ""}
    )
    assert detail["field"] == "employee"


async def test_drill_pages_and_cursors_cover_every_record_once(api: ApiWorld) -> None:
    await seeded(api)
    params = {
        "indicator": "outbound_calls",
        "employee": str(api.employees["alice"]),
        "period": MARCH,
        "limit": "2",
    }
    by_page: list[int] = []
    for number in (1, 2, 3):
        page = await ok(api, "GET", "/api/v1/kpi/drill", params={**params, "page": str(number)})
        assert page["pages"] == 3 and page["page"] == number
        by_page += [i["id"] for i in page["items"]]
    assert len(by_page) == len(set(by_page)) == 5
    beyond = await ok(api, "GET", "/api/v1/kpi/drill", params={**params, "page": "9"})
    assert beyond["items"] == [] and beyond["count"] == 5
    by_cursor: list[int] = []
    cursor: str | None = None
    for _ in range(5):
        query = params if cursor is None else {**params, "cursor": cursor}
        page = await ok(api, "GET", "/api/v1/kpi/drill", params=query)
        by_cursor += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert by_cursor == by_page
    # A cursor this API never gave out (an old id-only one) is refused, naming it.
    detail = await error(
        api, "GET", "/api/v1/kpi/drill", 422, params={**params, "page": "2", "cursor": "3"}
    )
    assert detail["field"] == "cursor"


async def test_drill_needs_a_known_indicator_and_an_employee(api: ApiWorld) -> None:
    detail = await error(api, "GET", "/api/v1/kpi/drill", 404, params={"indicator": "nope"})
    assert detail["field"] == "indicator"
    detail = await error(
        api, "GET", "/api/v1/kpi/drill", 404, params={"indicator": "outbound_calls"}
    )
    assert detail["field"] == "employee"  # the admin token has no employee of its own
    detail = await error(api, "GET", "/api/v1/kpi/drill", 422, who="alice", params={})
    assert detail["field"] == "indicator"


async def test_drill_of_a_contact_indicator_links_contacts(api: ApiWorld) -> None:
    resp = await api.post(
        "/api/v1/contacts",
        json={"name": "Owned", "owner_employee_id": api.employees["alice"]},
    )
    assert resp.status == 201
    page = await ok(
        api,
        "GET",
        "/api/v1/kpi/drill",
        who="alice",
        params={"indicator": "client_base_quality"},
    )
    assert page["kind"] == "contacts"
    assert [i["contact_name"] for i in page["items"]] == ["Owned"]
    assert page["items"][0]["contact_id"] == page["items"][0]["id"]


# -- monitor ------------------------------------------------------------------------------


async def test_monitor_groups_subordinates_by_colour(api: ApiWorld) -> None:
    await seeded(api)
    body = {"indicator": "meetings_held", "month": MARCH, "value": 4}
    await ok(
        api,
        "POST",
        "/api/v1/kpi/plans",
        who="head",
        json={**body, "employee": api.employees["alice"]},
    )
    monitor = await ok(api, "GET", "/api/v1/kpi/monitor", who="head", params={"period": MARCH})
    alice, bob = api.employees["alice"], api.employees["bob"]

    def keys(group: str) -> set[tuple[int, str]]:
        return {(c["employee"], c["indicator"]) for c in monitor[group]}

    assert (alice, "meetings_held") in keys("critical")
    assert (alice, "outbound_calls") in keys("important")
    assert (bob, "outbound_calls") in keys("information")
    every = set().union(
        *(keys(g) for g in ("critical", "important", "information", "without_plan"))
    )
    assert {e for e, _ in every} == {alice, bob}  # the head's own row is not in their monitor
    assert [e["id"] for e in monitor["employees"]] == sorted([alice, bob])
    assert "outbound_calls" in monitor["indicators"]
    await error(api, "GET", "/api/v1/kpi/monitor", 403, who="alice")


# -- plans --------------------------------------------------------------------------------


async def test_head_sets_plans_for_one_or_the_group(api: ApiWorld) -> None:
    alice, bob = api.employees["alice"], api.employees["bob"]
    body = {"indicator": "outbound_calls", "month": MARCH, "value": 20, "per_day": True}
    done = await ok(api, "POST", "/api/v1/kpi/plans", who="head", json={**body, "employee": alice})
    assert [(c["employee"], c["value"], c["per_day"]) for c in done["items"]] == [(alice, 20, True)]
    group = await ok(
        api, "POST", "/api/v1/kpi/plans", who="head", json={**body, "group": api.employees["head"]}
    )
    assert {c["employee"] for c in group["items"]} == {alice, bob}
    assert next(c for c in group["items"] if c["employee"] == alice)["previous"] == 20
    table = await ok(api, "GET", "/api/v1/kpi", who="alice", params={"period": MARCH})
    # 20 a day over March 2024's 21 working days (weekends Saturday and Sunday).
    assert cell(table, alice, "outbound_calls")["plan"] == 20 * 21


@pytest.mark.parametrize(
    ("who", "change", "status", "field", "words"),
    [
        ("head", {"indicator": "nope"}, 404, "indicator", "unknown indicator"),
        ("head", {"employee": 999999}, 404, "employee", "does not exist"),
        ("head", {"employee": None, "employees": [999999]}, 404, "employees.0", "does not exist"),
        ("head", {"value": -1}, 422, "value", "greater than or equal to 0"),
        ("head", {"value": "many"}, 422, "value", "number"),
        ("head", {"month": "2024-13"}, 422, "month", "2024-13"),
        ("head", {"month": "2024-Q1"}, 422, "month", "YYYY-MM"),
        ("head", {"employee": None}, 422, "employee", "name an employee"),
        ("head", {"indicator": "client_base_quality", "per_day": True}, 422, "per_day", "per-day"),
        ("head", {"employee": "carol"}, 403, None, "not below you"),
        ("head", {"employee": "head"}, 403, None, "not below you"),
        ("alice", {}, 403, None, "may not"),
        ("marketer", {}, 403, None, "may not"),
    ],
)
async def test_plan_errors_name_what_is_wrong(
    api: ApiWorld, who: str, change: dict[str, Any], status: int, field: str | None, words: str
) -> None:
    body: dict[str, Any] = {
        "indicator": "outbound_calls",
        "month": MARCH,
        "value": 5,
        "employee": api.employees["alice"],
    }
    for key, value in change.items():
        body[key] = api.employees[value] if isinstance(value, str) and key == "employee" else value
    detail = await error(api, "POST", "/api/v1/kpi/plans", status, who=who, json=body)
    assert detail["field"] == field
    assert words in detail["message"]


# -- closing a month ------------------------------------------------------------------------


async def test_admin_closes_a_finished_month_once(api: ApiWorld) -> None:
    await seeded(api)
    await error(api, "POST", "/api/v1/kpi/close-month", 403, who="head", json={"month": MARCH})
    closed = await ok(api, "POST", "/api/v1/kpi/close-month", json={"month": MARCH})
    assert closed["month"] == MARCH and closed["facts"] > 0
    table = await ok(api, "GET", "/api/v1/kpi", who="head", params={"period": MARCH})
    assert table["closed"] is True and table["closed_at"]
    assert cell(table, api.employees["alice"], "outbound_calls")["fact"] == 5
    detail = await error(api, "POST", "/api/v1/kpi/close-month", 409, json={"month": MARCH})
    assert "already closed" in detail["message"]
    again = await ok(api, "POST", "/api/v1/kpi/close-month", json={"month": MARCH, "again": True})
    assert again["month"] == MARCH
    plan = {
        "indicator": "outbound_calls",
        "month": MARCH,
        "value": 1,
        "employee": api.employees["alice"],
    }
    detail = await error(api, "POST", "/api/v1/kpi/plans", 409, who="head", json=plan)
    assert detail["field"] == "month"


async def test_close_month_refuses_bad_and_running_months(api: ApiWorld) -> None:
    detail = await error(api, "POST", "/api/v1/kpi/close-month", 422, json={"month": "2024-3"})
    assert detail["field"] == "month"
    me = await ok(api, "GET", "/api/v1/kpi/me")
    detail = await error(api, "POST", "/api/v1/kpi/close-month", 409, json={"month": me["period"]})
    assert "not ended" in detail["message"]


# -- the dashboard's files ---------------------------------------------------------------------


async def test_dashboard_is_served_without_a_token_and_locked_down(api: ApiWorld) -> None:
    page = await api.get("/", who=None)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<main id="main"' in await page.text()
    script = await api.get("/static/js/app.js", who=None)
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    for path in ("/static/../api_kpi.py", "/static/%2e%2e/api_kpi.py", "/static/nope.js"):
        assert (await api.get(path, who=None)).status == 404, path


# -- one road: what a drill page costs, what a manager reads ---------------------------


async def drill_statements(api: ApiWorld, params: dict[str, str]) -> tuple[int, Any]:
    """The SQL statements one drill-down request sends to the store, and its answer."""
    engine = api.store.engine.sync_engine
    sent: list[str] = []

    def count(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, many)
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        body = await ok(api, "GET", "/api/v1/kpi/drill", who="head", params=params)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent), body


@pytest.mark.parametrize("indicator", ["outbound_calls", "client_base_quality"])
async def test_a_drill_page_costs_the_same_statements_for_1_or_200_rows(
    api: ApiWorld, indicator: str
) -> None:
    """Contact names come with the rows, not from a look-up per row."""
    alice = api.employees["alice"]
    params = {"indicator": indicator, "employee": str(alice)}
    if indicator == "outbound_calls":
        await calls(api, "alice", 201)  # 201 different numbers: 201 new contacts
        params["period"] = MARCH
    else:  # clients owned from today on: this month's client base
        for i in range(201):
            body = {"name": f"C{i}", "owner_employee_id": alice}
            assert (await api.post("/api/v1/contacts", json=body)).status == 201
    await drill_statements(api, {**params, "limit": "1"})  # anything done once per process
    one, small = await drill_statements(api, {**params, "limit": "1"})
    many, big = await drill_statements(api, {**params, "limit": "200"})
    assert len(small["items"]) == 1 and len(big["items"]) == 200
    assert len({i["contact_id"] for i in big["items"]}) == 200
    assert all(i["contact_name"] for i in big["items"])
    assert one == many, f"{one} statements for 1 row, {many} for 200"


async def test_a_month_ahead_is_not_judged(api: ApiWorld) -> None:
    """T0 is in March 2024, but the service's clock is today: 2030 has not begun."""
    await seeded(api)
    body = {"indicator": "outbound_calls", "month": "2030-01", "value": 10}
    await ok(api, "POST", "/api/v1/kpi/plans", who="head", json={**body, "group": api.employees["head"]})
    table = await ok(api, "GET", "/api/v1/kpi", who="head", params={"period": "2030-01"})
    judged = [c for c in table["cells"] if c["colour"] or c["percent"] is not None or c["trend"]]
    assert judged == []
    assert cell(table, api.employees["alice"], "outbound_calls")["plan"] == 10
    assert table["started"] is False
    monitor = await ok(api, "GET", "/api/v1/kpi/monitor", who="head", params={"period": "2030-01"})
    assert monitor["critical"] == monitor["important"] == monitor["information"] == []
    assert monitor["started"] is False
    running = await ok(api, "GET", "/api/v1/kpi", who="head", params={"period": MARCH})
    assert running["started"] is True


async def test_counts_are_integers_in_json(api: ApiWorld) -> None:
    await seeded(api)
    alice = api.employees["alice"]
    resp = await api.call("GET", "/api/v1/kpi", who="head", params={"period": MARCH})
    text = await resp.text()
    table = json.loads(text)
    calls_cell = cell(table, alice, "outbound_calls")
    assert type(calls_cell["fact"]) is int and type(calls_cell["previous"]) is int
    assert '"fact":5,' in text.replace(" ", "")
    indicators = {i["code"]: i for i in (await ok(api, "GET", "/api/v1/kpi/indicators"))["items"]}
    for item in table["cells"]:
        if indicators[item["indicator"]]["aggregate"] in ("count", "distinct_contacts", "forgotten"):
            assert type(item["fact"]) is int, item
    ratio = cell(table, alice, "touches_per_client")
    assert type(ratio["fact"]) is float
    await ok(api, "POST", "/api/v1/kpi/close-month", json={"month": FEBRUARY})
    page = await ok(
        api,
        "GET",
        "/api/v1/kpi/drill",
        who="head",
        params={"indicator": "outbound_calls", "employee": str(alice), "period": FEBRUARY},
    )
    assert page["frozen_fact"] == 2 and type(page["frozen_fact"]) is int


async def test_export_files_hold_the_table_rows(api: ApiWorld) -> None:
    """The dashboard's download: the caller's table as XLSX (and CSV), read back."""
    import csv
    import io

    from openpyxl import load_workbook

    await seeded(api)
    params = {"period": MARCH, "lang": "en"}
    table = await ok(api, "GET", "/api/v1/kpi", who="head", params={"period": MARCH})
    resp = await api.call("GET", "/api/v1/kpi/export", who="head", params=params)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert resp.headers["Content-Disposition"] == 'attachment; filename="kpi-2024-03.xlsx"'
    book = load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames == ["KPI 2024-03"]
    header, *rows = [list(r) for r in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    got = [dict(zip(header, r, strict=True)) for r in rows]
    assert [(r["Employee id"], r["Indicator code"]) for r in got] == [
        (c["employee"], c["indicator"]) for c in table["cells"]
    ]
    for row, want in zip(got, table["cells"], strict=True):
        assert (row["Employee"], row["Indicator"]) == (want["employee_name"], want["title"])
        assert (row["Fact"], row["Plan"], row["% of plan"]) == (
            want["fact"], want["plan"], want["percent"]
        )
    alice_id = api.employees["alice"]
    alice = next(
        r for r in got if r["Employee id"] == alice_id and r["Indicator code"] == "outbound_calls"
    )
    assert (alice["Arrow"], alice["Trend"], alice["Status"]) == ("▲", "better", "at risk")

    resp = await api.call(
        "GET", "/api/v1/kpi/export", who="head", params={**params, "format": "csv", "delimiter": ";"}
    )
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="kpi-2024-03.csv"'
    body = await resp.read()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.DictReader(body.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert [(int(r["Employee id"]), r["Indicator code"]) for r in lines] == [
        (c["employee"], c["indicator"]) for c in table["cells"]
    ]
    # In Russian (the store's language here: Europe/Moscow) the words are the catalogue's
    # and the CSV takes Excel's ';' unless told otherwise.
    resp = await api.call("GET", "/api/v1/kpi/export", who="head", params={"period": MARCH})
    ru_header, *ru_rows = [
        list(r)
        for r in load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True)  # type: ignore[union-attr]
    ]
    assert ru_header[:3] == ["Сотрудник", "Показатель", "Факт"]
    ru_alice = next(r for r in ru_rows if r[11] == alice_id and r[12] == "outbound_calls")
    assert ru_alice[1] == "Исходящие телефонные звонки"
    assert (ru_alice[5], ru_alice[6], ru_alice[8]) == ("▲", "лучше", "под угрозой")
    resp = await api.call(
        "GET", "/api/v1/kpi/export", who="head", params={"period": MARCH, "format": "csv"}
    )
    first = (await resp.read()).decode("utf-8-sig").splitlines()[0]
    assert first.startswith("Сотрудник;Показатель;Факт;")
    resp = await api.call(
        "GET", "/api/v1/kpi/export", who="head", params={**params, "format": "csv"}
    )
    assert (await resp.read()).decode("utf-8-sig").startswith("Employee,Indicator,Fact,")
    # An employee exports only what they see; a marketer nothing.
    mine = await api.call("GET", "/api/v1/kpi/export", who="alice", params=params)
    sheet = load_workbook(io.BytesIO(await mine.read())).active
    assert sheet is not None
    assert {r[11] for r in sheet.iter_rows(min_row=2, values_only=True)} == {alice_id}
    await error(api, "GET", "/api/v1/kpi/export", 422, who="head", params={"format": "pdf"})
    # A sheet per head: the head under the boss, Alice and Bob under the head.
    teams = await api.call(
        "GET", "/api/v1/kpi/export", who="head", params={**params, "by_head": "true"}
    )
    book = load_workbook(io.BytesIO(await teams.read()))
    people = {
        title: {r[11] for r in book[title].iter_rows(min_row=2, values_only=True)}
        for title in book.sheetnames
    }
    names = {e["id"]: e["name"] for e in table["employees"]}
    boss = await ok(api, "GET", f"/api/v1/employees/{api.employees['boss']}", who="admin")
    assert {t: {names[i] for i in ids} for t, ids in people.items()} == {
        boss["name"]: {names[api.employees["head"]]},
        names[api.employees["head"]]: {names[api.employees["alice"]], names[api.employees["bob"]]},
    }
