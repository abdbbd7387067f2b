"""Click-to-call (`POST /api/v1/calls`) and an extension's live call state.

The PBX side is injected by the runtime through `ORIGINATE` and `LIVE_CALLS`, built over
every adapter with the `ClickToCall` / `LiveCallState` capability
(`hub.channels.capabilities`), so this module speaks no AMI.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.activity import ActivityStore, Principal
from hub.errors import ConfigError, PermissionDenied, ValidationError
from hub.model import AddressKind
from hub.web.auth import ACTIVITY_READERS, contact_access, require, visible_employees
from hub.web.keys import LIVE_CALLS, ORIGINATE, STORE
from hub.web.openapi import describe
from hub.web.parsing import read_json, respond

routes = web.RouteTableDef()
TAG = "calls"


#: "Exactly one of number and contact_id" as JSON Schema says it: null counts as absent.
_ONE_TARGET: dict[str, Any] = {
    "oneOf": [
        {
            "required": ["number"],
            "properties": {"number": {"type": "string"}, "contact_id": {"type": "null"}},
        },
        {
            "required": ["contact_id"],
            "properties": {"contact_id": {"type": "integer"}, "number": {"type": "null"}},
        },
    ]
}


class CallCreate(BaseModel):
    """Whom to call: a number, or a contact whose first phone is dialled."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_TARGET)

    employee: str = Field(description="extension whose phone rings first", min_length=1)
    number: str | None = None
    contact_id: int | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CallCreate:
        if (self.number is None) == (self.contact_id is None):
            raise ValueError("give exactly one of number and contact_id")
        return self


class CallStarted(BaseModel):
    """The employee answered and the client is being dialled; the call is logged on its end."""

    employee: str
    number: str
    channel: str | None = None
    uniqueid: str | None = None
    status: str = "connected"


class LiveState(BaseModel):
    """What an extension is doing now."""

    extension: str
    state: str


async def _number_of_contact(request: web.Request, who: Principal, contact_id: int) -> str:
    store = request.app[STORE]
    contact = await store.contacts.get(contact_id)
    (await contact_access(store, who)).check_read(contact_id, contact["owner_employee_id"])
    phones = [i["value"] for i in contact.get("identities", []) if i["kind"] == AddressKind.PHONE]
    if not phones:
        raise ValidationError(f"contact #{contact_id} has no phone number", field="contact_id")
    return str(phones[0])


async def _check_extension(store: ActivityStore, who: Principal, extension: str) -> None:
    """`PermissionDenied` unless the extension belongs to an employee the caller may see."""
    visible = await visible_employees(store, who)
    if visible is None:
        return
    people = await store.employees.list(ids=visible)
    mine = {
        a["value"]
        for person in people
        for a in person["addresses"]
        if a["kind"] == AddressKind.EXTENSION.value
    }
    if extension not in mine:
        raise PermissionDenied(f"extension {extension} is not one of the phones you may watch")


@routes.post("/api/v1/calls")
@describe(
    "Click-to-call: ring the employee's phone, then dial the client",
    tag=TAG,
    body=CallCreate,
    response=CallStarted,
    status=201,
    roles=ACTIVITY_READERS,
    errors=(404, 409, 502, 503, 504),
)
async def create_call(request: web.Request) -> web.Response:
    """Starts a call for an extension the caller may act for; the PBX's answer is returned."""
    who = require(request, *ACTIVITY_READERS)
    body = await read_json(request, CallCreate)
    store = request.app[STORE]
    employee_id = await store.employees.resolve(body.employee)
    visible = await visible_employees(store, who)
    if visible is not None and employee_id not in visible:
        raise PermissionDenied(f"you may not place calls for extension {body.employee}")
    number = body.number
    if number is None:
        assert body.contact_id is not None
        number = await _number_of_contact(request, who, body.contact_id)
    originate = request.app.get(ORIGINATE)
    if originate is None:
        raise ConfigError("click-to-call needs a connected PBX ([telephony.pbx.NAME])")
    employee = await store.employees.get(employee_id)
    result = await originate(body.employee, number, employee.get("name"))
    data = {
        "employee": result.extension,
        "number": result.number,
        "channel": result.channel,
        "uniqueid": result.uniqueid,
    }
    return respond(CallStarted, data, status=201)


@routes.get("/api/v1/calls/live/{extension}")
@describe("What an extension is doing now", tag=TAG, response=LiveState, roles=ACTIVITY_READERS)
async def live_state(request: web.Request) -> web.Response:
    """ "ringing", "talking" or "idle", from the AMI adapters' live view.

    An employee sees their own extensions, a head their subtree's, an admin every one."""
    who = require(request, *ACTIVITY_READERS)
    extension = request.match_info["extension"]
    await _check_extension(request.app[STORE], who, extension)
    lookup = request.app.get(LIVE_CALLS)
    state = (lookup(extension) if lookup is not None else None) or "idle"
    return respond(LiveState, {"extension": extension, "state": state})
