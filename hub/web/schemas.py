"""Pydantic models of the API edge: request bodies, query strings and answers.

Bodies and queries forbid unknown fields (a typo is a 4xx naming it, not silently
ignored); strings refuse NUL and lone surrogates and are capped to what the columns
hold, ids to 64 bits and datetimes must be aware, so bad input stops here instead of
reaching the database as a 500. The OpenAPI document is generated from these models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from hub.activity import addresses, cursor, dialog_rules, interaction_rules
from hub.campaigns import segment_schema
from hub.errors import ValidationError
from hub.model import CONTACT_KINDS, Address, AddressKind, Channel, Direction, Status
from hub.text import ascii_int
from hub.web.parsing import MAX_ID

#: Most items a list in a request body may carry (addresses, custom fields).
MAX_LIST_ITEMS = 50
#: Page size limits (the store caps pages at 500 as well).
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000
MAX_TEXT = 10_000


def _clean_text(value: str) -> str:
    """Refuse what the databases can't store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _to_utc(value: datetime) -> datetime:
    """Aware datetimes are kept in UTC; ones that fall off the calendar in UTC are refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc


def whole_number(value: Any) -> Any:
    """Integers as JSON integers or, from a query string, ASCII digits; no 2.0, true or ``¹``."""
    if isinstance(value, (bool, float)):
        raise ValueError("must be a whole number, not " + type(value).__name__)
    if isinstance(value, str):
        number = ascii_int(value, signed=value.startswith("-"), minimum=-MAX_ID - 1)
        if number is None:
            raise ValueError("must be a whole number of at most 19 ASCII digits")
        return number
    return value


#: RFC 3339's date-time, which JSON Schema's "date-time" format means: seconds and an
#: offset required. Pydantic alone would also take ``0.5`` as a Unix time.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: Any) -> Any:
    """Only an RFC 3339 text is a time here: no numbers, no missing seconds or offset."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an ISO 8601 / RFC 3339 time with seconds and an offset")
    return value


def matching(pattern: str, what: str) -> BeforeValidator:
    """A string must match `pattern`; the refusal is a message a person reads ("must be a
    month: YYYY-MM"), not the regex. Publish the pattern with `published(pattern)`."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not compiled.match(value):
            raise ValueError(f"must be {what}")
        return value

    return BeforeValidator(check)


def published(pattern: str) -> Any:
    """The pattern in the OpenAPI document, next to a `matching` check of the same one."""
    return Field(json_schema_extra={"pattern": pattern})


def _json_integer(value: Any) -> Any:
    """An integer in a JSON body: ``2`` or ``2.0`` (JSON has one number type, and JSON
    Schema's "integer" is any number without a fraction), never ``true``, ``"2"`` or 2.5."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sane_moment(value: datetime) -> datetime:
    """An interaction's time within the window the store accepts (no year 5448 or 0019)."""
    try:
        interaction_rules.moment(value, field="time")
    except ValidationError as exc:
        raise ValueError(str(exc).removeprefix("time ")) from exc
    return value


def _split_flags(value: Any) -> Any:
    if isinstance(value, str):
        return [flag for flag in value.split(",") if flag]
    return value


_CLEAN = AfterValidator(_clean_text)
#: Text that is stripped and must not end up empty: at least one character that is not
#: whitespace (and no NUL anywhere), as the document states it.
NON_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
_NON_BLANK = Field(json_schema_extra={"pattern": NON_BLANK_PATTERN})


#: An id in a query string or a body: a whole number, never a float, a bool or ``¹``.
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(whole_number)]
#: An id in a JSON body: a JSON number without a fraction, and nothing else.
BodyId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_to_utc)]
#: When an interaction is due or happened: within `interaction_rules`' window.
InteractionTime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_sane_moment),
    AfterValidator(_to_utc),
    Field(
        description=(
            f"ISO 8601 with offset, in the years {interaction_rules.FIRST_YEAR}–"
            f"{interaction_rules.LAST_YEAR} as written"
        ),
        json_schema_extra={"pattern": interaction_rules.YEAR_PATTERN},
    ),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), _CLEAN, _NON_BLANK
]
EmployeeName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _CLEAN, _NON_BLANK
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=0, max_length=200), _CLEAN
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=0, max_length=50), _CLEAN]
AddressValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320), _CLEAN, _NON_BLANK
]
Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=interaction_rules.MAX_SUBJECT),
    _CLEAN,
    _NON_BLANK,
]
ResultText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=interaction_rules.MAX_RESULT),
    _CLEAN,
    _NON_BLANK,
]
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=0, max_length=200), _CLEAN
]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(whole_number)]
#: A (time, id) listing's `next_cursor`; anything matching decodes to a position.
TimeCursor = Annotated[
    str,
    matching(cursor.TIME_ID_PATTERN, "the `next_cursor` of a previous page"),
    published(cursor.TIME_ID_PATTERN),
]
CustomValue = (
    Annotated[str, StringConstraints(max_length=2000), _CLEAN]
    | Annotated[int, Field(ge=-MAX_ID - 1, le=MAX_ID)]
    | float
    | bool
    | None
)
CustomFields = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], CustomValue],
    Field(max_length=MAX_LIST_ITEMS),
]


#: A filter of the segment language (decision 0020), published as its JSON Schema.
SegmentDefinition = Annotated[dict[str, Any], WithJsonSchema(segment_schema.reference())]


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)


class Query(Body):
    """Base of query strings: the same rules as bodies."""


class Out(BaseModel):
    """Base of answers: shaped from store rows, extra columns left out."""

    model_config = ConfigDict(extra="ignore")


# -- requests ----------------------------------------------------------------------


#: Contact kinds in declaration order, so the document is the same on every start.
CONTACT_KINDS_ORDERED = tuple(k for k in AddressKind if k in CONTACT_KINDS)
#: Address kinds whose value is a phone number, and the JSON Schema of each kind's value.
_PHONE_KINDS = (AddressKind.PHONE, AddressKind.WHATSAPP, AddressKind.VIBER)
_VALUE_SCHEMA: dict[AddressKind, dict[str, Any]] = {
    **{kind: {"format": "phone", "maxLength": 32} for kind in _PHONE_KINDS},
    AddressKind.EMAIL: {"format": "email", "maxLength": 320},
    AddressKind.TELEGRAM: {"pattern": addresses.MESSENGER_ID_PATTERN},
    AddressKind.VK: {"pattern": addresses.MESSENGER_ID_PATTERN},
    AddressKind.EXTENSION: {"pattern": addresses.EXTENSION_PATTERN},
}
#: The raw text as it came: a phone or an e-mail in any spelling the store normalises,
#: an id or an extension exactly as its pattern says.
RawAddress = Annotated[str, StringConstraints(min_length=1, max_length=320), _CLEAN]
PhoneText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
    _CLEAN,
    Field(json_schema_extra={"format": "phone"}),
]
EmailText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=320),
    _CLEAN,
    Field(json_schema_extra={"format": "email"}),
]


def _by_kind(kinds: Iterable[AddressKind]) -> dict[str, Any]:
    """One JSON Schema branch per kind: what its value must look like."""
    return {
        "oneOf": [
            {
                "properties": {
                    "kind": {"const": kind.value},
                    "value": {"type": "string", **_VALUE_SCHEMA[kind]},
                }
            }
            for kind in kinds
        ]
    }


class AddressIn(Body):
    """An address of any kind as the user typed it; the store normalises it.

    Extensions and messenger ids must match their pattern as sent; a phone must be a
    number the phone library accepts (`format: phone`), an e-mail an address."""

    model_config = ConfigDict(json_schema_extra=_by_kind(AddressKind))

    kind: AddressKind
    value: RawAddress

    @model_validator(mode="after")
    def _value_fits_kind(self) -> AddressIn:
        shape = _VALUE_SCHEMA[self.kind]
        if "pattern" in shape and not re.match(shape["pattern"], self.value):
            raise ValueError(f"value is not a {self.kind.value} ({shape['pattern']})")
        if len(self.value) > shape.get("maxLength", len(self.value)):
            raise ValueError(f"value is too long for a {self.kind.value}")
        return self

    def as_address(self) -> Address:
        """The wire-level `Address` the store takes."""
        return Address(kind=self.kind, value=self.value)


class ContactAddressIn(AddressIn):
    """An address of a client: anything but an extension, which only names an employee."""

    model_config = ConfigDict(json_schema_extra=_by_kind(CONTACT_KINDS_ORDERED))

    @model_validator(mode="after")
    def _not_an_extension(self) -> ContactAddressIn:
        if self.kind not in CONTACT_KINDS:
            raise ValueError(f"{self.kind.value} is not a contact address")
        return self


class ContactCreate(Body):
    """A new contact; phones and e-mails are shorthands for `addresses`."""

    name: Name
    phones: Annotated[list[PhoneText], Field(max_length=MAX_LIST_ITEMS)] = []
    emails: Annotated[list[EmailText], Field(max_length=MAX_LIST_ITEMS)] = []
    addresses: Annotated[list[ContactAddressIn], Field(max_length=MAX_LIST_ITEMS)] = []
    organization: Name | None = None
    position: Short | None = None
    region: Short | None = None
    city: Short | None = None
    importance: Tag | None = None
    segment: Tag | None = None
    is_lead: StrictBool = False
    owner_employee_id: BodyId | None = None
    custom: CustomFields = {}


class ContactUpdate(Body):
    """Changes to a contact: given fields are set, `add_*` addresses are added."""

    name: Name | None = None
    add_phones: Annotated[list[PhoneText], Field(max_length=MAX_LIST_ITEMS)] = []
    add_emails: Annotated[list[EmailText], Field(max_length=MAX_LIST_ITEMS)] = []
    add_addresses: Annotated[list[ContactAddressIn], Field(max_length=MAX_LIST_ITEMS)] = []
    organization: Name | None = None
    position: Short | None = None
    region: Short | None = None
    city: Short | None = None
    importance: Tag | None = None
    segment: Tag | None = None
    is_lead: StrictBool | None = None
    owner_employee_id: BodyId | None = None
    custom: CustomFields = {}


class MergeIn(Body):
    """Which contact the one in the path is merged into."""

    into: BodyId


class InteractionCreate(Body):
    """A meeting, task, call or note entered by hand; planned when it has `due_at`."""

    channel: Literal["meeting", "task", "call", "note"]
    subject: Subject
    contact_id: BodyId | None = None
    employee_id: BodyId | None = None
    due_at: InteractionTime | None = None
    occurred_at: InteractionTime | None = None
    duration_s: (
        Annotated[float, Strict(), Field(ge=0, le=interaction_rules.MAX_DURATION_S)] | None
    ) = None
    direction: Literal["in", "out"] = "out"


class CompleteIn(Body):
    """The result of a planned interaction, and when it was completed (default: now)."""

    result: ResultText
    at: InteractionTime | None = None


class EmployeeCreate(Body):
    """A new employee with the addresses that identify them (extension, mailbox, bot)."""

    name: EmployeeName
    position: Short | None = None
    head_id: BodyId | None = None
    active: StrictBool = True
    addresses: Annotated[list[AddressIn], Field(max_length=MAX_LIST_ITEMS)] = []


class ContactQuery(Query):
    """Search: `q` matches a name part, or exactly a phone or e-mail in any spelling."""

    q: SearchText | None = Field(None, description="name part, or a phone/e-mail in any spelling")
    limit: Limit = DEFAULT_LIMIT
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), BeforeValidator(whole_number)] = 0


class PageQuery(Query):
    """A page of a newest-first listing; pass `next_cursor` back as `cursor`."""

    limit: Limit = DEFAULT_LIMIT
    cursor: TimeCursor | None = Field(None, description="`next_cursor` of the previous page")


class ActivityQuery(PageQuery):
    """Activity filters; `since` is inclusive, `until` exclusive."""

    contact: Id | None = Field(None, description="only this contact's activities")
    employee: Id | None = Field(None, description="only this employee's (within your view)")
    channel: Channel | None = None
    direction: Direction | None = None
    status: Status | None = None
    since: UtcDatetime | None = Field(None, description="inclusive, ISO 8601 with offset")
    until: UtcDatetime | None = Field(None, description="exclusive, ISO 8601 with offset")


class DialogQuery(PageQuery):
    """Dialog filters; they combine."""

    mine: bool = Field(False, description="only dialogs that are yours (you are their owner)")
    unanswered: bool = Field(False, description="only dialogs whose last messages wait for a reply")
    channel: Literal["telegram", "whatsapp", "vk", "viber"] | None = Field(
        None, description="only this messenger"
    )
    account: Short | None = Field(
        None, description="only this account (of `channel`, or of any messenger without it)"
    )


class NoQuery(Query):
    """Endpoints that take no query parameters refuse any."""


# -- answers -------------------------------------------------------------------------


class ErrorDetail(Out):
    """What went wrong and, when one field is to blame, which."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorOut(Out):
    """Every 4xx/5xx answer."""

    error: ErrorDetail


class IdentityOut(Out):
    """A normalised address of a contact."""

    kind: str
    value: str
    bouncing_since: datetime | None = None


class MergedFromOut(Out):
    """The contact a caller asked for, merged into the one shown (`merged_into_id`)."""

    id: int
    name: str
    merged_into_id: int


class ContactOut(Out):
    """A contact with its organisation and identities."""

    id: int
    name: str
    organization: str | None = None
    organization_id: int | None = None
    position: str | None = None
    region: str | None = None
    city: str | None = None
    importance: str | None = None
    segment: str | None = None
    custom: dict[str, Any] = {}
    is_lead: bool
    owner_employee_id: int | None = None
    merged_into_id: int | None = None
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityOut] = []
    #: Set when the id asked for was merged into this contact: which one that was.
    merged_from: MergedFromOut | None = None


class ContactPage(Out):
    """A page of contacts; `next_offset` is None on the last page."""

    items: list[ContactOut]
    next_offset: int | None


class MergeOut(Out):
    """What a merge moved, and the contact that remains."""

    source_id: int
    target_id: int
    identities_moved: int
    activities_moved: int
    fields_filled: list[str]
    contact: ContactOut
    merge_id: int | None = None  # for POST /api/v1/contacts/merges/{id}/undo


class ActivityOut(Out):
    """One touch: call, letter, message, meeting, task or note."""

    id: int
    source: str
    external_id: str
    channel: Channel
    direction: Direction
    status: Status
    occurred_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    ring_s: float | None = None
    talk_s: float | None = None
    contact_id: int | None = None
    employee_id: int | None = None
    counterpart: str | None = None
    subject: str | None = None
    preview: str | None = None
    thread_key: str | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    result: str | None = None
    is_client: bool
    flags: Annotated[list[str], BeforeValidator(_split_flags)] = []
    meta: dict[str, Any] = {}


class StatusChangeOut(Out):
    """One step of an activity's status history."""

    status: str
    at: datetime
    detail: str | None = None


class ActivityDetail(ActivityOut):
    """An activity with its status history."""

    created_at: datetime
    updated_at: datetime
    status_history: list[StatusChangeOut] = []


class ActivityPage(Out):
    """A page of activities, newest first; `next_cursor` is None on the last page."""

    items: list[ActivityOut]
    next_cursor: str | None


class DialogOut(Out):
    """One chat with one client on one messenger account, as its list shows it."""

    id: int
    source: str = Field(description='"<platform>:<account>", e.g. "telegram:support"')
    platform: str
    account: str
    counterpart: str = Field(description="the chat or user id on the platform")
    contact_id: int | None = None
    contact_name: str | None = None
    owner_employee_id: int | None = Field(
        None, description="the contact's responsible employee, else the queue; None: nobody yet"
    )
    owner_name: str | None = None
    messages: int
    unread: int = Field(description="incoming since the last reply and since it was marked read")
    unanswered: bool
    waiting_since: datetime | None = Field(None, description="first incoming after the last reply")
    last_at: datetime
    last_direction: Direction
    last_preview: str | None = None
    last_in_at: datetime | None = None
    last_out_at: datetime | None = None
    read_at: datetime | None = None


class DialogPage(Out):
    """A page of dialogs, latest message first; `next_cursor` is None on the last page."""

    items: list[DialogOut]
    next_cursor: str | None


class DialogThread(Out):
    """A dialog and a page of its messages, newest first."""

    dialog: DialogOut
    messages: list[ActivityOut]
    next_cursor: str | None


class ReplyIn(Body):
    """A reply in a dialog."""

    text: Annotated[
        str,
        Strict(),
        _CLEAN,
        Field(description=f"not blank, at most {dialog_rules.MAX_REPLY} characters"),
    ]


class ReplySent(Out):
    """A reply the platform took; it is already on the dialog and the client's timeline."""

    dialog_id: int | None
    message_id: str | None
    outcome: str


class EmployeeAddressOut(Out):
    """An address that identifies an employee."""

    kind: str
    value: str


class EmployeeOut(Out):
    """An employee, their head and addresses."""

    id: int
    name: str
    position: str | None = None
    head_id: int | None = None
    active: bool
    created_at: datetime
    addresses: list[EmployeeAddressOut] = []


class EmployeeList(Out):
    """Employees the caller may see."""

    items: list[EmployeeOut]


class HealthOut(BaseModel):
    """Health of the store and, when the runtime supplies it, of every adapter."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded", "down"]


# -- suppressions --------------------------------------------------------------------


class SuppressionQuery(Query):
    """Suppression filters: by default the active ones, newest first."""

    channel: Literal["email", "sms"] | None = None
    address: Annotated[str, StringConstraints(min_length=1, max_length=320)] | None = Field(
        None, description="an address in any spelling (normalised like the store's)"
    )
    state: Literal["active", "lifted", "all"] = "active"
    campaign: Id | None = Field(None, description="only those this campaign caused")
    limit: Limit = DEFAULT_LIMIT
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), BeforeValidator(whole_number)] = 0


class SuppressionCreate(Body):
    """An address to stop sending campaigns to, by hand: an e-mail address for `email`, a
    phone number for `sms`."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "properties": {
                        "channel": {"const": "email"},
                        "address": {"type": "string", "format": "email"},
                    }
                },
                {
                    "properties": {
                        "channel": {"const": "sms"},
                        "address": {"type": "string", "format": "phone"},
                    }
                },
            ]
        }
    )

    channel: Literal["email", "sms"]
    address: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    reason: Literal["manual", "unsubscribed", "complained", "opted_out"] = "manual"
    detail: Annotated[str, StringConstraints(max_length=1000)] | None = None


class SuppressionOut(Out):
    """One suppression; `active` until an admin lifts it."""

    id: int
    channel: str
    address: str
    reason: str
    detail: str | None = None
    campaign_id: int | None = None
    contact_id: int | None = None
    created_by: str | None = None
    created_at: datetime
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    active: bool


class SuppressionPage(Out):
    """A page of suppressions and how many match in all."""

    items: list[SuppressionOut]
    total: int
