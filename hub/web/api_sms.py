"""Sending one SMS (`POST /api/v1/sms`) and previewing how a text splits (`/api/v1/sms/preview`).

Like the `touchhub sms` commands, this is a channel surface and names its channel. The
message goes through the gateway's sender built by the runtime (`SENDERS`, ``sms:NAME``),
which commits the outgoing touch before it submits; the touch names the employee behind
the caller's token, so the SMS counts as theirs.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.sms.encoding import count_segments
from hub.channels.sms.plugin import PLUGIN as SMS
from hub.channels.sms.quiet_hours import URGENT_KEY, held_until_of
from hub.errors import ConfigError, UnknownReference
from hub.model import Address, AddressKind, Channel, OutgoingMessage
from hub.web.auth import ACTIVITY_READERS, ALL_ROLES, require
from hub.web.keys import SENDERS, SETTINGS, STORE
from hub.web.openapi import describe
from hub.web.parsing import read_json, respond

routes = web.RouteTableDef()
TAG = "sms"
#: Longest text accepted here (the sender splits it into parts; 10 parts of UCS-2 is 670).
MAX_TEXT = 1600


class SmsCreate(BaseModel):
    """One SMS to one number."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=32, description="recipient's phone number")
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    gateway: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="[sms.gateways.NAME]; default gateway",
    )
    urgent: bool = Field(default=False, description="send now even in the recipient's quiet hours")


class SmsSent(BaseModel):
    """What the gateway answered; delivery reports update the activity later."""

    message_id: str
    gateway: str
    outcome: str = Field(description="sent, held (quiet hours), temporary_failure, permanent_failure")
    code: int | None = None
    reason: str | None = None
    held_until: str | None = Field(default=None, description="when a held message goes (UTC)")


class SmsPreviewRequest(BaseModel):
    """A text to count."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)


class SmsPreview(BaseModel):
    """How a text goes on the wire: units are septets (GSM 7-bit) or UTF-16 units (UCS-2)."""

    encoding: str
    parts: int
    units: int
    per_part: int
    left_in_last_part: int


def _employee_address(employee: dict[str, object]) -> Address | None:
    """The employee's extension (else e-mail), as the store matches it to them."""
    addresses = employee.get("addresses")
    if not isinstance(addresses, list):
        return None
    for kind in (AddressKind.EXTENSION, AddressKind.EMAIL):
        for item in addresses:
            if isinstance(item, dict) and item.get("kind") == kind.value:
                return Address(kind=kind, value=str(item["value"]))
    return None


@routes.post("/api/v1/sms")
@describe(
    "Send one SMS through a gateway; recorded at once as the caller's outgoing touch",
    tag=TAG,
    body=SmsCreate,
    response=SmsSent,
    status=201,
    roles=ACTIVITY_READERS,
    errors=(202, 422, 502, 503, 504),
)
async def send_sms(request: web.Request) -> web.Response:
    """Sends through the named (or default) gateway and answers with the gateway's reply."""
    who = require(request, *ACTIVITY_READERS)
    body = await read_json(request, SmsCreate)
    try:
        name = SMS.settings_of(request.app[SETTINGS]).gateway_name(body.gateway)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    sender = request.app[SENDERS].get(f"{SMS.name}:{name}")
    if sender is None and body.gateway is not None:
        raise UnknownReference(f"no SMS gateway {name!r} is configured", field="gateway")
    if sender is None:
        raise ConfigError(f"no SMS gateway {name!r} can send ([sms.gateways.{name}])")
    employee = None
    if who.employee_id is not None:
        employee = _employee_address(await request.app[STORE].employees.get(who.employee_id))
    message = OutgoingMessage(
        channel=Channel.SMS,
        to=(Address(kind=AddressKind.PHONE, value=body.to),),
        body=body.text,
        sender=employee,
        metadata={"sent_by": who.name, **({URGENT_KEY: True} if body.urgent else {})},
    )
    result = await sender.send(message)
    held_until = held_until_of(result)
    data = {
        "message_id": result.external_id,
        "gateway": name,
        "outcome": "held" if held_until else result.outcome.value,
        "code": result.code,
        "reason": result.reason,
        "held_until": held_until,
    }
    return respond(SmsSent, data, status=201 if result.ok else 202 if held_until else 502)


@routes.post("/api/v1/sms/preview")
@describe(
    "How a text goes on the wire: encoding, parts, characters left",
    tag=TAG,
    body=SmsPreviewRequest,
    response=SmsPreview,
    roles=ALL_ROLES,
)
async def preview_sms(request: web.Request) -> web.Response:
    """Counts with the same rules the senders split by."""
    require(request, *ALL_ROLES)
    body = await read_json(request, SmsPreviewRequest)
    return respond(SmsPreview, count_segments(body.text).as_dict())
