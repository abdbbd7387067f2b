"""Employees: the directory everyone may read, and hiring (admin only)."""

from __future__ import annotations

from aiohttp import web

from hub.activity.addresses import normalize
from hub.errors import Conflict, InvalidAddress
from hub.web.auth import ADMIN, ALL_ROLES, require
from hub.web.keys import STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.references import referenced_employee
from hub.web.schemas import EmployeeCreate, EmployeeList, EmployeeOut, NoQuery

routes = web.RouteTableDef()
TAG = "employees"


@routes.get("/api/v1/employees")
@describe("List employees", tag=TAG, query=NoQuery, response=EmployeeList, roles=ALL_ROLES)
async def list_employees(request: web.Request) -> web.Response:
    """The directory: names, heads and addresses, for filters and assigning work."""
    require(request, *ALL_ROLES)
    parse_query(request, NoQuery)
    return respond(EmployeeList, {"items": await request.app[STORE].employees.list()})


@routes.get("/api/v1/employees/{id}")
@describe("Get an employee", tag=TAG, response=EmployeeOut, roles=ALL_ROLES)
async def get_employee(request: web.Request) -> web.Response:
    """One employee with their addresses."""
    require(request, *ALL_ROLES)
    employee_id = path_id(request, what="employee")
    return respond(EmployeeOut, await request.app[STORE].employees.get(employee_id))


@routes.post("/api/v1/employees")
@describe(
    "Add an employee",
    tag=TAG,
    body=EmployeeCreate,
    response=EmployeeOut,
    status=201,
    roles=(ADMIN,),
    errors=(409,),
)
async def create_employee(request: web.Request) -> web.Response:
    """Adds someone whose extension, mailbox or bot account should count as theirs."""
    require(request, ADMIN)
    body = await read_json(request, EmployeeCreate)
    store = request.app[STORE]
    for i, address in enumerate(body.addresses):
        try:
            normalize(address.kind, address.value, store.region)
        except InvalidAddress as exc:
            raise InvalidAddress(f"addresses.{i}: {exc}", field=f"addresses.{i}") from exc
    if body.head_id is not None:
        await referenced_employee(store, body.head_id, "head_id")
    taken = {
        (a["kind"], a["value"]): e["id"]
        for e in await store.employees.list()
        for a in e["addresses"]
    }
    for i, address in enumerate(body.addresses):
        key = (address.kind.value, normalize(address.kind, address.value, store.region))
        if key in taken:
            raise Conflict(
                f"addresses.{i}: {key[0]} {key[1]} already belongs to employee #{taken[key]}",
                field=f"addresses.{i}",
                details={"owner_employee_id": taken[key], "kind": key[0], "value": key[1]},
            )
    employee_id = await store.employees.add(
        body.name,
        position=body.position,
        head_id=body.head_id,
        addresses=[a.as_address() for a in body.addresses],
        active=body.active,
    )
    return created(
        EmployeeOut, await store.employees.get(employee_id), f"/api/v1/employees/{employee_id}"
    )
