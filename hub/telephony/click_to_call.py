"""Click-to-call: ring the employee's phone first, then dial the client, over AMI Originate.

The call that results is logged by the capture adapter like any other; this module only
asks Asterisk for it and reports whether the employee's leg came up.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from hub.errors import ChannelError, ChannelTimeout, ValidationError
from hub.telephony.ami_protocol import AmiMessage
from hub.telephony.settings import (
    DEFAULT_ORIGINATE_CHANNEL,
    DEFAULT_ORIGINATE_CONTEXT,
    DEFAULT_ORIGINATE_TIMEOUT_S,
)

#: Extra time beyond the ring timeout to wait for OriginateResponse.
RESPONSE_GRACE_S = 15.0
#: What may be dialled: digits with an optional leading + (spaces, dashes, brackets removed).
_NUMBER_RE = re.compile(r"^\+?\d{2,20}$")
_EXTENSION_RE = re.compile(r"^[0-9A-Za-z_*#-]{1,32}$")

#: OriginateResponse `Reason` codes (Asterisk's AST_CONTROL_* values) → words.
ORIGINATE_REASONS: dict[str, str] = {
    "0": "no such extension or number, or the channel could not be created",
    "1": "the employee's phone hung up",
    "3": "the employee's phone rang out without an answer",
    "4": "answered",
    "5": "the employee's phone is busy",
    "8": "congestion: the PBX could not place the call",
}


class OriginateError(ChannelError):
    """Asterisk could not place a click-to-call; the message says why in words."""

    def __init__(self, message: str, *, reason: str | None = None, channel: str | None = None):
        super().__init__(message, channel=channel)
        self.reason = reason


class ActionSender(Protocol):
    """What click-to-call needs from an AMI client (`AmiClient` implements it)."""

    def new_action_id(self) -> str: ...

    def expect_event(self, action_id: str) -> asyncio.Future[AmiMessage]: ...

    async def action(
        self,
        name: str,
        fields: Mapping[str, str | list[str]] | None = None,
        *,
        time_limit: float | None = None,
        check: bool = True,
        action_id: str | None = None,
    ) -> AmiMessage: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginateResult:
    """A click-to-call that Asterisk placed: the employee answered and the client is dialled."""

    extension: str
    number: str
    channel: str | None
    uniqueid: str | None
    action_id: str


def clean_number(number: str) -> str:
    """The number to dial, with spaces, dashes, dots and brackets removed; refuses the rest."""
    cleaned = re.sub(r"[\s\-().]", "", number)
    if not _NUMBER_RE.match(cleaned):
        raise ValidationError(f"cannot dial {number!r}: not a phone number", field="number")
    return cleaned


def originate_fields(
    extension: str,
    number: str,
    *,
    channel_template: str = DEFAULT_ORIGINATE_CHANNEL,
    context: str = DEFAULT_ORIGINATE_CONTEXT,
    ring_timeout_s: int = DEFAULT_ORIGINATE_TIMEOUT_S,
    callerid: str | None = None,
    caller_name: str | None = None,
) -> dict[str, str | list[str]]:
    """The Originate fields: ring `extension`'s phone, then run `number` in the dialplan.

    The caller ID is what the client sees once the dialplan dials out: the configured
    company ID, else the employee's own name and extension, as a call dialled from that
    phone shows; never the client's own number.
    """
    if not _EXTENSION_RE.match(extension):
        raise ValidationError(f"not an extension: {extension!r}", field="employee")
    number = clean_number(number)
    return {
        "Channel": channel_template.format(extension=extension),
        "Context": context,
        "Exten": number,
        "Priority": "1",
        "CallerID": callerid or _callerid(caller_name, extension),
        "Timeout": str(ring_timeout_s * 1000),
        "Async": "true",
        "Variable": [f"TOUCHHUB_CLICK_TO_CALL={number}"],
    }


def _callerid(name: str | None, extension: str) -> str:
    clean = re.sub(r'["<>\r\n]', "", name or "").strip()
    return f'"{clean}" <{extension}>' if clean else f"<{extension}>"


async def click_to_call(
    client: ActionSender,
    extension: str,
    number: str,
    *,
    channel_template: str = DEFAULT_ORIGINATE_CHANNEL,
    context: str = DEFAULT_ORIGINATE_CONTEXT,
    ring_timeout_s: int = DEFAULT_ORIGINATE_TIMEOUT_S,
    callerid: str | None = None,
    caller_name: str | None = None,
) -> OriginateResult:
    """Place a click-to-call and wait for its OriginateResponse; failures raise OriginateError."""
    fields = originate_fields(
        extension,
        number,
        channel_template=channel_template,
        context=context,
        ring_timeout_s=ring_timeout_s,
        callerid=callerid,
        caller_name=caller_name,
    )
    action_id = client.new_action_id()
    outcome = client.expect_event(action_id)
    try:
        answer = await client.action("Originate", fields, check=False, action_id=action_id)
        if answer.response != "Success":
            raise OriginateError(
                f"the PBX refused to call {number} from {extension}: "
                f"{answer.get('Message') or answer.response}"
            )
        try:
            event = await asyncio.wait_for(outcome, ring_timeout_s + RESPONSE_GRACE_S)
        except TimeoutError as exc:
            raise ChannelTimeout(
                f"no answer from the PBX about the call {extension} → {number}"
            ) from exc
    finally:
        outcome.cancel()
    reason = event.get("Reason")
    if event.get("Response") != "Success":
        words = ORIGINATE_REASONS.get(reason or "", f"reason {reason}")
        raise OriginateError(f"call {extension} → {number} failed: {words}", reason=reason)
    uniqueid = event.get("Uniqueid")
    return OriginateResult(
        extension=extension,
        number=str(fields["Exten"]),
        channel=event.get("Channel"),
        uniqueid=uniqueid if uniqueid and uniqueid != "<unknown>" else None,
        action_id=action_id,
    )
