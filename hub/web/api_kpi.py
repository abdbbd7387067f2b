"""KPI over HTTP: the table, catalogue, drill-down, monitor, plans and month close.

The numbers are exactly the CLI's (`touchhub kpi --json`): both ask the same
`KpiService` with a `Viewer` built from the caller, so visibility follows the
hierarchy everywhere: an employee sees their own numbers, a head their subtree,
an admin everyone. Marketers have no KPI and get 403.
"""

from __future__ import annotations

import io
import math
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from hub import i18n
from hub.activity import Principal
from hub.errors import UnknownReference, ValidationError
from hub.web.auth import ADMIN, EMPLOYEE, HEAD, require
from hub.web.keys import SETTINGS, STORE
from hub.web.openapi import describe
from hub.web.parsing import dump_json, parse_query, read_json, respond
from hub.web.prepared import PreparedJson
from hub.web.references import referenced_employee
from hub.web.schemas import (
    NON_BLANK_PATTERN,
    Body,
    BodyId,
    Id,
    Limit,
    NoQuery,
    Out,
    Query,
    TimeCursor,
    matching,
    published,
    whole_number,
)
from kpi import export
from kpi.periods import MONTH_PATTERN, PERIOD_PATTERN, Period, PeriodKind, parse_month
from kpi.results import KpiCell, Monitor
from kpi.service import MAX_PAGE, KpiService
from kpi.shared import SharedAnswers
from kpi.viewer import Role, Viewer

routes = web.RouteTableDef()
TAG = "kpi"

#: Roles that have KPI of their own or of others; marketers don't.
KPI_READERS = (ADMIN, HEAD, EMPLOYEE)
#: Roles that may set plans (a head only for people below them: the service checks).
PLANNERS = (ADMIN, HEAD)
#: Roles that see the indicator monitor of their subordinates.
MONITOR_READERS = (ADMIN, HEAD)
#: Deepest `page=`: at most 199 × 500 rows are skipped to reach it, so the work is capped;
#: further pages are walked by cursor.
MAX_DRILL_PAGE = 200
#: Largest plan value accepted (a sanity bound, not a business rule).
MAX_PLAN = 1_000_000_000
#: Most employees one plan request may name.
MAX_PLAN_TARGETS = 500

KPI_SERVICE = web.AppKey("kpi_service", KpiService)
#: The JSON of the table and the monitor, by question, store generation and local day.
KPI_ANSWERS = web.AppKey("kpi_answers", SharedAnswers[PreparedJson])

PeriodText = Annotated[
    str,
    matching(PERIOD_PATTERN, "a period: YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn or YYYY"),
    published(PERIOD_PATTERN),
    Field(description="2026-10, 2026-Q4, 2026-W41, 2026-10-05 or 2026 (default: this month)"),
]
MonthText = Annotated[
    str, matching(MONTH_PATTERN, "a month: YYYY-MM"), published(MONTH_PATTERN)
]
IndicatorCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(json_schema_extra={"pattern": NON_BLANK_PATTERN}),
]
ColourName = Literal["red", "yellow", "green"]
TrendName = Literal["better", "worse", "same"]
DirectionName = Literal["up", "down", "flat"]


def setup(app: web.Application) -> None:
    """One `KpiService` per app, so the catalogue is loaded and checked once at start."""
    app[KPI_SERVICE] = KpiService(app[STORE], app[SETTINGS].kpi)
    app[KPI_ANSWERS] = SharedAnswers()


# -- queries and bodies --------------------------------------------------------------


class KpiQuery(Query):
    """Which period, employee and indicators the table shows."""

    period: PeriodText | None = None
    employee: Id | None = Field(None, description="only this employee (within your view)")
    indicator: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="comma-separated indicator codes (default: all)"
    )


class ExportQuery(KpiQuery):
    """The table as a file: XLSX laid out like the dashboard, or CSV for Excel."""

    format: Literal["xlsx", "csv"] = "xlsx"
    lang: Literal["en", "ru"] | None = Field(
        None, description="language of headers and words (default: the store's, `[web] locale`)"
    )
    delimiter: Literal[",", ";", "tab"] | None = Field(
        None, description="CSV only (default: ';' in Russian, for Excel's comma-decimal locale; ',' in English)"
    )
    with_previous: bool = Field(False, description="XLSX only: the previous period as a second sheet")
    by_head: bool = Field(False, description="XLSX only: a sheet per head (instead of per period)")


class DrillQuery(Query):
    """One fact to explain; page with `cursor` (from `next_cursor`) or `page` (1-based)."""

    indicator: IndicatorCode
    employee: Id | None = Field(None, description="default: yourself")
    period: PeriodText | None = None
    cursor: TimeCursor | None = Field(None, description="`next_cursor` of the previous page")
    page: Annotated[int, Field(ge=1, le=MAX_DRILL_PAGE), BeforeValidator(whole_number)] | None = (
        Field(
            None, description="1-based page number, counted after `cursor` when both are given"
        )
    )
    limit: Limit = 50


class MonitorQuery(Query):
    """The month (or other period) the monitor judges."""

    period: PeriodText | None = None


#: "Name an employee, employees or a group" as JSON Schema says it.
_SOME_TARGET: dict[str, Any] = {
    "anyOf": [
        {"required": ["employee"], "properties": {"employee": {"type": "integer"}}},
        {"required": ["employees"], "properties": {"employees": {"minItems": 1}}},
        {"required": ["group"], "properties": {"group": {"type": "integer"}}},
    ]
}


class PlanIn(Body):
    """A month's plan (or per-day norm) for one or more employees and/or a head's group."""

    model_config = ConfigDict(json_schema_extra=_SOME_TARGET)

    indicator: IndicatorCode
    month: MonthText = Field(description="YYYY-MM")
    value: Annotated[float, Field(ge=0, le=MAX_PLAN)] = Field(
        description="the plan for the month, or per working day with `per_day`"
    )
    employee: BodyId | None = Field(None, description="one employee")
    employees: Annotated[list[BodyId], Field(max_length=MAX_PLAN_TARGETS)] = Field(
        default_factory=list, description="several employees"
    )
    group: BodyId | None = Field(None, description="everyone below this head")
    per_day: StrictBool = False


class CloseMonthIn(Body):
    """Which finished month to freeze; `again` re-freezes a closed one."""

    month: MonthText = Field(description="YYYY-MM")
    again: StrictBool = False


# -- answers ----------------------------------------------------------------------------


class KpiCellOut(Out):
    """One employee × indicator: fact, plan, % of plan, colour and arrow (as the CLI prints)."""

    employee: int
    employee_name: str
    indicator: str
    title: str
    unit: str
    period: str
    fact: int | float = Field(description="a count is a whole number")
    records: int
    plan: float | None = Field(
        description="what the fact is judged against: in a running period, the plan of the "
        "working days elapsed (see the table's `span`)"
    )
    period_plan: float | None = Field(description="the plan of the whole period")
    percent: float | None
    colour: ColourName | None
    trend: TrendName | None = Field(
        description="the arrow's goodness: better or worse than `previous` (for a "
        "lower-is-better indicator, going down is better)"
    )
    direction: DirectionName | None = Field(
        description="the arrow's direction: the fact went up or down from `previous`"
    )
    previous: int | float | None = Field(
        description="the fact of the span the arrow compares with (`span.previous_first_day`.."
        "`span.previous_last_day`; a client-base state: the previous period's end)"
    )
    lower_is_better: bool
    closed: bool
    decimals: int = 0


class SpanOut(Out):
    """What was judged and compared: a running period's days elapsed (`first_day`..
    `last_day`, both inclusive) and the same days of the previous period; a whole period
    otherwise."""

    started: bool
    running: bool = Field(description="the period contains today")
    partial: bool = Field(description="only the days elapsed are judged (before the last day)")
    first_day: str = Field(description="first local day judged")
    last_day: str = Field(description="last local day judged")
    working_days: int = Field(description="working days judged (the calendar's)")
    working_days_total: int = Field(description="working days in the whole period")
    previous_first_day: str = Field(description="first day the arrows compare with")
    previous_last_day: str = Field(description="last day the arrows compare with")


class EmployeeRef(Out):
    """An employee's id and name."""

    id: int
    name: str


class KpiTableOut(Out):
    """Employees × indicators for one period; `closed` says the facts are frozen."""

    period: str
    previous_period: str
    closed: bool
    closed_at: str | None
    started: bool = Field(description="false for a period ahead: nothing in it is judged")
    span: SpanOut
    indicators: list[str]
    employees: list[EmployeeRef]
    cells: list[KpiCellOut]


class IndicatorOut(Out):
    """An indicator of the catalogue."""

    code: str
    title: str
    group: str
    unit: str
    aggregate: str
    source: str
    lower_is_better: bool
    default_plan: float | None
    snapshot: bool
    additive: bool = Field(description="whether a per-day norm may be set")
    description: str


class IndicatorList(Out):
    """The indicator catalogue, in definition order."""

    items: list[IndicatorOut]


class DrillOut(Out):
    """A page of the records a fact was counted from; `count` of them in all."""

    indicator: str
    employee: int
    period: str
    kind: Literal["activities", "contacts"]
    count: int
    items: list[dict[str, Any]]
    next_cursor: str | None
    page: int | None
    pages: int
    limit: int
    closed: bool
    frozen_fact: int | float | None


class MonitorOut(Out):
    """Subordinates × indicators: Critical (<50%), Important (50–79%), For information (≥80%)."""

    period: str
    closed: bool
    started: bool = Field(description="false for a period ahead: nothing in it is judged")
    span: SpanOut
    employees: list[EmployeeRef]
    indicators: list[str]
    critical: list[KpiCellOut]
    important: list[KpiCellOut]
    information: list[KpiCellOut]
    without_plan: list[KpiCellOut]


class PlanChangeOut(Out):
    """A plan as set, with what it replaced."""

    employee: int
    indicator: str
    month: str
    value: float
    per_day: bool
    previous: float | None
    previous_per_day: bool | None
    set_by: str
    set_at: str


class PlanChanges(Out):
    """Every plan the request set."""

    items: list[PlanChangeOut]


class ClosedMonthOut(Out):
    """A month whose facts are frozen as the basis for bonuses."""

    month: str
    closed_at: str
    closed_by: str
    facts: int


class KpiMeOut(Out):
    """Who the caller is for KPI purposes and what the dashboard should offer them."""

    name: str
    role: str
    employee_id: int | None
    employee_name: str | None
    period: str
    can_monitor: bool
    can_plan: bool
    can_close: bool
    plannable: list[EmployeeRef] = Field(description="employees the caller may set plans for")


# -- helpers ----------------------------------------------------------------------------


def service_of(request: web.Request) -> KpiService:
    """The app's KPI service."""
    return request.app[KPI_SERVICE]


def viewer_of(who: Principal) -> Viewer:
    """The KPI viewer for an API caller: the token's role and employee."""
    return Viewer.of(who.role, who.employee_id)


def period_of(service: KpiService, text: str | None, now: datetime | None = None) -> str:
    """The period the caller asked for (checked now, so the error names `period`), or the
    month running at `now` (default: now)."""
    if text is None:
        if now is None:
            return service.current_month().key
        return Period.current(PeriodKind.MONTH, now, service.tz).key
    return Period.parse(text).key


async def shared_json(
    request: web.Request,
    question: tuple[Hashable, ...],
    now: datetime,
    compute: Callable[[], Awaitable[bytes]],
) -> web.Response:
    """A JSON answer computed once per `question`, store generation and local day
    (decision 0062): an unchanged store answers from memory (encoded, tagged and gzipped
    once), concurrent identical requests share one computation, and any write makes the
    next request compute."""

    async def prepare() -> PreparedJson:
        return PreparedJson.of(await compute())

    stamp = await service_of(request).stamp(now)
    if stamp is None:
        answer = await prepare()
    else:
        answer = await request.app[KPI_ANSWERS].get((*question, *stamp), prepare)
    return answer.response(request)


def month_of(text: str, field: str = "month") -> str:
    """A ``YYYY-MM`` month, or a `ValidationError` on `field` saying what is expected."""
    try:
        return parse_month(text).key
    except ValidationError as exc:
        raise ValidationError(f"{field}: {exc}", field=field) from None


def cell_out(cell: KpiCell) -> dict[str, Any]:
    """A cell as the API shows it: the CLI's keys plus how many decimals to print."""
    return {**cell.as_dict(), "decimals": cell.decimals}


def employees_of(cells: Iterable[KpiCell]) -> list[dict[str, Any]]:
    """Employees of some cells, in first-seen order."""
    seen: dict[int, str] = {}
    for cell in cells:
        seen.setdefault(cell.employee, cell.employee_name)
    return [{"id": i, "name": n} for i, n in seen.items()]


def indicators_of(cells: Iterable[KpiCell]) -> list[str]:
    """Indicator codes of some cells, in first-seen order."""
    return list(dict.fromkeys(cell.indicator for cell in cells))


# -- handlers ---------------------------------------------------------------------------


@routes.get("/api/v1/kpi")
@describe(
    "KPI table: fact, plan, %, colour and trend per employee and indicator",
    tag=TAG,
    query=KpiQuery,
    response=KpiTableOut,
    roles=KPI_READERS,
    errors=(404,),
)
async def kpi_table(request: web.Request) -> web.Response:
    """The same cells as `touchhub kpi --json`, limited to what the caller may see."""
    who = require(request, *KPI_READERS)
    query = parse_query(request, KpiQuery)
    service = service_of(request)
    codes = table_codes(query.indicator)
    viewer = viewer_of(who)
    now = service.clock()
    period = period_of(service, query.period, now)

    async def compute() -> bytes:
        table = await service.table(viewer, period, query.employee, codes, at=now)
        data = table.as_dict()
        data["cells"] = [cell_out(c) for c in table.cells]
        return dump_json(KpiTableOut, data)

    codes_key = None if codes is None else tuple(codes)
    question = ("table", viewer, period, query.employee, codes_key)
    return await shared_json(request, question, now, compute)


def table_codes(text: str | None) -> list[str] | None:
    """Indicator codes from a comma-separated `indicator=` (None: all)."""
    if text is None:
        return None
    return [c.strip() for c in text.split(",") if c.strip()] or None


@routes.get("/api/v1/kpi/export")
@describe(
    "The KPI table as an XLSX or CSV file (the table's rows, the dashboard's columns)",
    tag=TAG,
    query=ExportQuery,
    files=(export.XLSX_TYPE, export.CSV_TYPE),
    roles=KPI_READERS,
    errors=(404,),
)
async def kpi_export(request: web.Request) -> web.Response:
    """What `touchhub kpi --xlsx/--csv` writes, for the caller's view, as a download."""
    who = require(request, *KPI_READERS)
    query = parse_query(request, ExportQuery)
    service = service_of(request)
    viewer = viewer_of(who)
    codes = table_codes(query.indicator)
    table = await service.table(viewer, period_of(service, query.period), query.employee, codes)
    settings = request.app[SETTINGS]
    locale = query.lang or i18n.default_locale(settings.web.locale, settings.kpi.timezone)
    labels = i18n.export_labels(locale)
    out = io.BytesIO()
    if query.format == "csv":
        asked = query.delimiter or i18n.csv_delimiter(locale)
        delimiter = "\t" if asked == "tab" else asked
        export.write_csv(out, table, labels=labels, delimiter=delimiter)
        content_type = export.CSV_TYPE
    elif query.by_head:
        if query.with_previous:
            raise ValidationError("with_previous or by_head: one way to split sheets", field="by_head")
        teams = export.by_head(table, await service.heads(viewer), labels)
        titles = [title for title, _ in teams]
        export.write_xlsx(out, [t for _, t in teams], titles=titles, labels=labels)
        content_type = export.XLSX_TYPE
    else:
        tables = [table]
        if query.with_previous:
            tables.append(
                await service.table(viewer, table.previous_period, query.employee, codes)
            )
        export.write_xlsx(out, tables, labels=labels)
        content_type = export.XLSX_TYPE
    name = export.file_name(table, query.format)
    return web.Response(
        body=out.getvalue(),
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@routes.get("/api/v1/kpi/me")
@describe(
    "Who you are for KPI, and what you may do",
    tag=TAG,
    query=NoQuery,
    response=KpiMeOut,
    roles=KPI_READERS,
)
async def kpi_me(request: web.Request) -> web.Response:
    """Lets the dashboard check a token and offer only the pages the caller may use."""
    who = require(request, *KPI_READERS)
    parse_query(request, NoQuery)
    service = service_of(request)
    viewer = viewer_of(who)
    visible = await service.employees(viewer)
    names = dict(visible)
    if viewer.role is Role.ADMIN:
        plannable = visible
    elif viewer.role is Role.HEAD:
        plannable = [(i, n) for i, n in visible if i != viewer.employee_id]
    else:
        plannable = []
    return respond(
        KpiMeOut,
        {
            "name": who.name,
            "role": who.role,
            "employee_id": who.employee_id,
            "employee_name": None if who.employee_id is None else names.get(who.employee_id),
            "period": service.current_month().key,
            "can_monitor": who.role in MONITOR_READERS,
            "can_plan": who.role in PLANNERS,
            "can_close": who.role == ADMIN,
            "plannable": [{"id": i, "name": n} for i, n in plannable],
        },
    )


@routes.get("/api/v1/kpi/indicators")
@describe(
    "The indicator catalogue",
    tag=TAG,
    query=NoQuery,
    response=IndicatorList,
    roles=KPI_READERS,
)
async def kpi_indicators(request: web.Request) -> web.Response:
    """What can be measured, for pickers and for adding widgets without a plan."""
    require(request, *KPI_READERS)
    parse_query(request, NoQuery)
    service = service_of(request)
    items = [
        {**indicator.as_dict(), "additive": indicator.additive}
        for indicator in service.catalogue.values()
    ]
    return respond(IndicatorList, {"items": items})


@routes.get("/api/v1/kpi/drill")
@describe(
    "Drill-down: the records one fact was counted from, paginated",
    tag=TAG,
    query=DrillQuery,
    response=DrillOut,
    roles=KPI_READERS,
    errors=(404,),
)
async def kpi_drill(request: web.Request) -> web.Response:
    """Exactly the activities (or contacts) behind a number, newest first."""
    who = require(request, *KPI_READERS)
    query = parse_query(request, DrillQuery)
    service = service_of(request)
    service.catalogue.get_or_raise(query.indicator)
    viewer = viewer_of(who)
    employee = query.employee if query.employee is not None else who.employee_id
    if employee is None:
        # The default, "yourself", names nobody for a token without an employee.
        raise UnknownReference(
            "employee: name one (this token belongs to no employee)", field="employee"
        )
    period = period_of(service, query.period)
    cursor = query.cursor
    skip = 0 if query.page is None else (query.page - 1) * query.limit
    exhausted = False
    while skip > 0:
        step = min(skip, MAX_PAGE)
        chunk = await service.drill(
            viewer, query.indicator, employee, period, cursor=cursor, limit=step
        )
        skip -= step
        cursor = chunk.next_cursor
        if cursor is None:
            exhausted = True
            break
    page = await service.drill(
        viewer, query.indicator, employee, period, cursor=cursor, limit=query.limit
    )
    items = () if exhausted else page.items
    return respond(
        DrillOut,
        {
            "indicator": page.indicator,
            "employee": page.employee,
            "period": page.period,
            "kind": page.kind,
            "count": page.total,
            "items": [dict(item) for item in items],
            "next_cursor": None if exhausted else page.next_cursor,
            "page": query.page,
            "pages": max(1, math.ceil(page.total / query.limit)),
            "limit": query.limit,
            "closed": page.closed,
            "frozen_fact": page.frozen_fact,
        },
    )


@routes.get("/api/v1/kpi/monitor")
@describe(
    "Indicator monitor: subordinates × indicators grouped critical / important / info",
    tag=TAG,
    query=MonitorQuery,
    response=MonitorOut,
    roles=MONITOR_READERS,
)
async def kpi_monitor(request: web.Request) -> web.Response:
    """The heads' dashboard: who is behind on what, worst first."""
    who = require(request, *MONITOR_READERS)
    query = parse_query(request, MonitorQuery)
    service = service_of(request)
    viewer = viewer_of(who)
    now = service.clock()
    period = period_of(service, query.period, now)

    async def compute() -> bytes:
        return monitor_json(service, await service.monitor(viewer, period, at=now))

    return await shared_json(request, ("monitor", viewer, period), now, compute)


def monitor_json(service: KpiService, monitor: Monitor) -> bytes:
    """The monitor as the API sends it."""
    every = [*monitor.critical, *monitor.important, *monitor.information, *monitor.without_plan]
    ordered = sorted(every, key=lambda c: c.employee)
    present = set(indicators_of(every))
    return dump_json(
        MonitorOut,
        {
            "period": monitor.period,
            "closed": monitor.closed,
            "started": monitor.started,
            "span": monitor.as_dict()["span"],
            "employees": employees_of(ordered),
            "indicators": [code for code in service.catalogue if code in present],
            "critical": [cell_out(c) for c in monitor.critical],
            "important": [cell_out(c) for c in monitor.important],
            "information": [cell_out(c) for c in monitor.information],
            "without_plan": [cell_out(c) for c in monitor.without_plan],
        },
    )


@routes.post("/api/v1/kpi/plans")
@describe(
    "Set a month's plan (or per-day norm) for employees or a head's group",
    tag=TAG,
    body=PlanIn,
    response=PlanChanges,
    roles=PLANNERS,
    errors=(409,),
)
async def kpi_set_plan(request: web.Request) -> web.Response:
    """Only a head over the employees, or an admin, may set their plans."""
    who = require(request, *PLANNERS)
    body = await read_json(request, PlanIn)
    service = service_of(request)
    store = request.app[STORE]
    service.catalogue.get_or_raise(body.indicator)
    month = month_of(body.month)
    targets: list[int] = []
    if body.employee is not None:
        targets.append(await referenced_employee(store, body.employee, "employee"))
    for i, employee in enumerate(body.employees):
        targets.append(await referenced_employee(store, employee, f"employees.{i}"))
    if body.group is not None:
        await referenced_employee(store, body.group, "group")
    if not targets and body.group is None:
        raise ValidationError("name an employee, employees or a group", field="employee")
    changes = await service.set_plan(
        viewer_of(who),
        body.indicator,
        month,
        body.value,
        employees=list(dict.fromkeys(targets)),
        group=body.group,
        per_day=body.per_day,
    )
    return respond(PlanChanges, {"items": [c.as_dict() for c in changes]})


@routes.post("/api/v1/kpi/close-month")
@describe(
    "Close a finished month: freeze its facts and plans (admin)",
    tag=TAG,
    body=CloseMonthIn,
    response=ClosedMonthOut,
    roles=(ADMIN,),
    errors=(409,),
)
async def kpi_close_month(request: web.Request) -> web.Response:
    """The month-end summary bonuses are paid from; later changes don't move it."""
    who = require(request, ADMIN)
    body = await read_json(request, CloseMonthIn)
    service = service_of(request)
    closed = await service.close_month(viewer_of(who), month_of(body.month), again=body.again)
    return respond(ClosedMonthOut, closed.as_dict())
