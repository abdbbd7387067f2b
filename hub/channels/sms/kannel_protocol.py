"""Kannel's HTTP interface, sans-IO: sendsms query and reply, delivery reports, incoming SMS.

Kannel (smsbox) takes a message as `GET /cgi-bin/sendsms?...` and answers in plain text
(`202 0: Accepted for delivery`, `403 Authorization failed for sendsms`, ...). It reports
delivery by calling the `dlr-url` we give, after expanding escapes (`%d` type, `%T` time,
`%A` SMSC reply, `%F` SMSC message id), and hands incoming SMS to the `get-url` of an
`sms-service` (`%p` sender, `%P` receiver, `%a` text, `%I` id, `%T` time). Kannel's own `%I`
differs between the reports of one message, so our message id rides in the dlr-url itself.
The replies and parameters handled here were recorded from Kannel 1.4.5 with its fake SMSC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntFlag, StrEnum
from urllib.parse import urlencode, urlsplit

from hub.channels.sms.encoding import SmsEncoding, choose_encoding
from hub.errors import ProtocolError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    SendOutcome,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)


class DlrType(IntFlag):
    """Kannel delivery report types (`dlr-mask` is their sum; `%d` is one of them)."""

    DELIVERED = 1
    FAILED = 2
    BUFFERED = 4
    SMSC_SUBMIT = 8
    SMSC_REJECT = 16


#: What each report type means for the message.
DLR_STATUS: dict[int, Status] = {
    DlrType.DELIVERED: Status.DELIVERED,
    DlrType.FAILED: Status.FAILED,
    DlrType.BUFFERED: Status.QUEUED,
    DlrType.SMSC_SUBMIT: Status.SENT,
    DlrType.SMSC_REJECT: Status.FAILED,
}
#: Ask for every report type.
DLR_MASK_ALL = int(
    DlrType.DELIVERED
    | DlrType.FAILED
    | DlrType.BUFFERED
    | DlrType.SMSC_SUBMIT
    | DlrType.SMSC_REJECT
)
#: Kannel `coding` values: 0 7-bit (GSM), 2 UCS-2.
CODING_GSM7 = 0
CODING_UCS2 = 2
#: Query parameters of our dlr-url: our id, then Kannel's escapes.
DLR_ID_PARAM = "id"
_DLR_ESCAPES = {"type": "%d", "at": "%T", "reply": "%A", "smsc_id": "%F", "smsc": "%i"}
#: The get-url an sms-service should call for incoming SMS (append to the hub's MO URL).
MO_ESCAPES = {
    "from": "%p",
    "to": "%P",
    "text": "%a",
    "id": "%I",
    "at": "%T",
    "smsc": "%i",
    "coding": "%c",
    "charset": "%C",
}


class ReplyKind(StrEnum):
    """What a sendsms answer says."""

    ACCEPTED = "accepted"  # 0: handed to an SMSC
    QUEUED = "queued"  # 3: no SMSC online yet; Kannel keeps it
    AUTH_FAILED = "auth_failed"  # wrong username/password: stop, do not retry
    REJECTED = "rejected"  # the request is wrong (missing receiver, bad field)
    NOT_ROUTABLE = "not_routable"  # no SMSC will ever take it
    TEMPORARY = "temporary"  # try again later


_REPLY_OUTCOME: dict[ReplyKind, SendOutcome] = {
    ReplyKind.ACCEPTED: SendOutcome.SENT,
    ReplyKind.QUEUED: SendOutcome.SENT,
    ReplyKind.AUTH_FAILED: SendOutcome.PERMANENT_FAILURE,
    ReplyKind.REJECTED: SendOutcome.PERMANENT_FAILURE,
    ReplyKind.NOT_ROUTABLE: SendOutcome.PERMANENT_FAILURE,
    ReplyKind.TEMPORARY: SendOutcome.TEMPORARY_FAILURE,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SendsmsReply:
    """A classified sendsms answer: kind, the outcome for the message and Kannel's words."""

    kind: ReplyKind
    http_status: int
    text: str

    @property
    def outcome(self) -> SendOutcome:
        return _REPLY_OUTCOME[self.kind]


def parse_sendsms_reply(http_status: int, body: bytes) -> SendsmsReply:
    """Classify smsbox's answer to sendsms by its HTTP status and text."""
    text = body.decode("utf-8", "replace").strip()
    first = text.splitlines()[0] if text else ""
    if 200 <= http_status < 300:
        if first.startswith("0:"):
            kind = ReplyKind.ACCEPTED
        elif first.startswith("3:"):
            kind = ReplyKind.QUEUED
        else:
            raise ProtocolError(f"sendsms answered {http_status} {first!r}", channel="kannel")
    elif "Authorization failed" in first or http_status == 401:
        kind = ReplyKind.AUTH_FAILED
    elif first.startswith("Not routable"):
        kind = ReplyKind.NOT_ROUTABLE
    elif 400 <= http_status < 500:
        kind = ReplyKind.REJECTED
    else:  # 5xx: "Temporal failure, try again later.", "Sending failed."
        kind = ReplyKind.TEMPORARY
    return SendsmsReply(kind=kind, http_status=http_status, text=text)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendsmsRequest:
    """What one sendsms call carries; `dlr_url` is the hub's DLR endpoint (without query)."""

    username: str
    password: str
    sender: str
    to: str
    text: str
    message_id: str
    dlr_url: str | None = None
    dlr_mask: int = DLR_MASK_ALL
    smsc: str | None = None


def dlr_url_for(base_url: str, message_id: str) -> str:
    """The dlr-url for one message: our id plus Kannel's escapes, left for Kannel to expand."""
    separator = "&" if urlsplit(base_url).query else "?"
    ours = urlencode({DLR_ID_PARAM: message_id})
    escapes = "&".join(f"{k}={v}" for k, v in _DLR_ESCAPES.items())
    return f"{base_url}{separator}{ours}&{escapes}"


def sendsms_query(request: SendsmsRequest) -> str:
    """The query string of `GET /cgi-bin/sendsms` (UTF-8 text; coding 2 when not GSM)."""
    params: list[tuple[str, str]] = [
        ("username", request.username),
        ("password", request.password),
        ("from", request.sender),
        ("to", request.to),
        ("text", request.text),
        ("charset", "UTF-8"),
        (
            "coding",
            str(CODING_GSM7 if choose_encoding(request.text) is SmsEncoding.GSM7 else CODING_UCS2),
        ),
    ]
    if request.smsc:
        params.append(("smsc", request.smsc))
    if request.dlr_url:
        params += [
            ("dlr-mask", str(request.dlr_mask)),
            ("dlr-url", dlr_url_for(request.dlr_url, request.message_id)),
        ]
    return urlencode(params)


def mo_get_url(base_url: str) -> str:
    """The `get-url` to configure in Kannel's sms-service so incoming SMS reach `base_url`."""
    separator = "&" if urlsplit(base_url).query else "?"
    return base_url + separator + "&".join(f"{k}={v}" for k, v in MO_ESCAPES.items())


def _time(value: str | None) -> datetime:
    """`%T` is Unix seconds; a missing or odd value means "now" rather than a guess."""
    if value and value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return utcnow()


def parse_dlr(params: Mapping[str, str], *, source: str) -> StatusUpdate:
    """A delivery report called on our dlr-url → the status update of our message."""
    message_id = params.get(DLR_ID_PARAM, "").strip()
    if not message_id:
        raise ProtocolError("delivery report without our message id", channel="kannel")
    raw_type = params.get("type", "")
    try:
        status = DLR_STATUS[int(raw_type)]
    except (ValueError, KeyError) as exc:
        raise ProtocolError(
            f"delivery report type {raw_type!r} unknown", channel="kannel", external_id=message_id
        ) from exc
    detail = params.get("reply") or None
    return StatusUpdate(
        source=source,
        external_id=message_id,
        status=status,
        at=_time(params.get("at")),
        detail=detail,
    )


def parse_mo(params: Mapping[str, str], *, source: str) -> Touch:
    """An incoming SMS called on the get-url → a touch (Kannel's `%I` is its stable id)."""
    sender = params.get("from", "").strip()
    kannel_id = params.get("id", "").strip()
    if not sender or not kannel_id:
        raise ProtocolError("incoming SMS without sender or id", channel="kannel")
    receiver = params.get("to", "").strip()
    metadata = {k: params[k] for k in ("smsc", "coding", "charset") if params.get(k)}
    return Touch(
        source=source,
        external_id=kannel_id,
        channel=Channel.SMS,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=_time(params.get("at")),
        counterparts=(Address(kind=AddressKind.PHONE, value=sender),),
        employee=Address(kind=AddressKind.PHONE, value=receiver) if receiver else None,
        preview=params.get("text", ""),
        metadata=metadata,
    )
