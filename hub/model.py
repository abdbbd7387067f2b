"""The plain value types every layer speaks, and the Protocols adapters implement.

Adapters turn what they see on the wire into `Touch`es and `StatusUpdate`s and push
them into a `Sink`; the activity store is the only thing that turns addresses into
contacts and employees. Nothing here imports SQLAlchemy, asyncio servers or a channel
library: these types are the contract between the layers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Channel(StrEnum):
    """How the touch happened."""

    CALL = "call"
    EMAIL = "email"
    SMS = "sms"
    MESSENGER = "messenger"
    MEETING = "meeting"
    TASK = "task"
    NOTE = "note"


class Direction(StrEnum):
    """Who started it: the client (in), us (out), or colleagues among themselves."""

    IN = "in"
    OUT = "out"
    INTERNAL = "internal"


class Status(StrEnum):
    """Outcome of a touch; each channel uses the subset that applies to it."""

    # calls
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    # messages (email, sms, messengers)
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    BOUNCED = "bounced"
    # interactions (meetings, tasks, planned calls)
    PLANNED = "planned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AddressKind(StrEnum):
    """What kind of address a wire value is; the store normalises each kind its own way."""

    PHONE = "phone"
    EMAIL = "email"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    VK = "vk"
    VIBER = "viber"
    EXTENSION = "extension"


#: Kinds that identify a client contact (an extension only ever names an employee).
CONTACT_KINDS: frozenset[AddressKind] = frozenset(AddressKind) - {AddressKind.EXTENSION}


class Flag(StrEnum):
    """Marks on a touch that keep it out of client-touch counts but in the record."""

    AUTO_REPLY = "auto_reply"
    MAILING_LIST = "mailing_list"
    DELIVERY_REPORT = "delivery_report"
    UNCLOSED = "unclosed"  # a call whose end was never seen, closed by timeout
    RECONCILED = "reconciled"  # a call rebuilt after a reconnect from what was known
    BACKFILLED = "backfilled"  # a call taken from the PBX's own records (CDR) after an outage


#: Flags that mean "recorded, but not a touch with a client".
NON_CLIENT_FLAGS: frozenset[Flag] = frozenset(
    {Flag.AUTO_REPLY, Flag.MAILING_LIST, Flag.DELIVERY_REPORT}
)


def utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; naive values are refused, not guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; touchhub stores aware UTC")
    return value.astimezone(UTC)


def known_zone(name: str) -> str:
    """`name` if it is a time zone this machine knows (IANA, e.g. Europe/Moscow), else a
    `ValueError` that says so: the settings check their zones with it when the config is
    read, so that a typo is one clear line, not a failure at first use."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Moscow") from exc
    return name


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """An address exactly as seen on the wire, with its kind; normalised by the store."""

    kind: AddressKind
    value: str
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.value or not self.value.strip():
            raise ValueError(f"empty {self.kind} address")


#: A touch's times, each kept as aware UTC.
_TOUCH_TIMES = ("occurred_at", "answered_at", "ended_at", "due_at", "completed_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class Touch:
    """One contact with a client (or between colleagues), keyed by (source, external_id).

    Recording the same key twice updates the activity rather than adding one, so
    adapters may replay freely. `counterparts` are the other side (every external
    recipient of a letter); `employee` is our side as seen on the wire.
    """

    source: str
    external_id: str
    channel: Channel
    direction: Direction
    status: Status
    occurred_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: float | None = None
    ring_seconds: float | None = None
    talk_seconds: float | None = None
    counterparts: tuple[Address, ...] = ()
    employee: Address | None = None
    subject: str | None = None
    preview: str | None = None
    thread_key: str | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    result: str | None = None
    flags: frozenset[Flag] = frozenset()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("touch without a source")
        if not self.external_id:
            raise ValueError(f"touch from {self.source} without an external_id")
        for name in _TOUCH_TIMES:
            value = getattr(self, name)
            if value is not None and value.tzinfo is not UTC:  # UTC already: nothing to do
                object.__setattr__(self, name, utc(value))

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key."""
        return (self.source, self.external_id)

    @property
    def is_client_touch(self) -> bool:
        """True when this counts as a touch with a client (not internal, not automatic)."""
        return self.direction is not Direction.INTERNAL and not (self.flags & NON_CLIENT_FLAGS)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate:
    """A later change to an already recorded touch: delivered, bounced, read, failed.

    `address` names the recipient the update is about (a bounced address is marked
    bouncing so that campaigns suppress it).
    """

    source: str
    external_id: str
    status: Status
    at: datetime
    detail: str | None = None
    address: Address | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """An adapter's resume point; written in the same transaction as the touches before it."""

    source: str
    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantined:
    """Bad input kept with its raw bytes and the reason, so nothing is lost silently."""

    source: str
    reason: str
    raw: bytes
    external_id: str | None = None
    at: datetime = field(default_factory=utcnow)


#: Metadata key of an incoming message whose text was an opt-out word: the store suppresses
#: the sender's address for campaigns when it records one.
OPT_OUT_KEY = "opt_out"


@dataclass(frozen=True, slots=True, kw_only=True)
class TouchEdit:
    """A message its author changed after it was recorded: `touch` as it reads now.

    The store changes the text and metadata of the activity keyed like `touch` and keeps
    its status, contact and employee; it records `touch` when the original never arrived.
    Never a second activity.
    """

    touch: Touch
    edited_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "edited_at", utc(self.edited_at))

    @property
    def source(self) -> str:
        return self.touch.source

    @property
    def external_id(self) -> str:
        return self.touch.external_id

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key of the edited touch."""
        return self.touch.key


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityUpdate:
    """What a channel learnt about a client's address (a Telegram chat): whose it is, or
    whether it can still be reached.

    `link_phone` gives the address to the contact that has that phone (the client shared
    it); `link_contact_id` gives it to that contact (a signed link the hub made for it).
    `unreachable` True: the client blocked us; False: reachable again.
    """

    source: str
    address: Address
    at: datetime
    link_phone: Address | None = None
    link_contact_id: int | None = None
    unreachable: bool | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))


#: Anything an adapter may push into a sink.
SinkItem = Touch | StatusUpdate | Checkpoint | Quarantined | TouchEdit | IdentityUpdate


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """A message to send through a `Sender`; `message_id` is ours and becomes the touch key."""

    channel: Channel
    to: tuple[Address, ...]
    body: str
    sender: Address | None = None
    subject: str | None = None
    html: str | None = None
    message_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: The envelope sender (SMTP MAIL FROM) when it must name this message's recipient
    #: (a campaign's VERP address); None: the sender's own bounce address or `sender`.
    return_path: str | None = None


class SendOutcome(StrEnum):
    """What a send attempt came to."""

    SENT = "sent"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"


#: How a sender's reason starts when the server refused the whole letter (at MAIL FROM or
#: DATA), which says nothing about any one address.
LETTER_REFUSED = "letter refused: "


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientResult:
    """The outcome for one recipient of a message."""

    address: Address
    outcome: SendOutcome
    code: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """The outcome of one `send()`, with the reason; never a bare bool."""

    outcome: SendOutcome
    external_id: str | None = None
    code: int | None = None
    reason: str | None = None
    recipients: tuple[RecipientResult, ...] = ()
    attempts: int = 1
    touch: Touch | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is SendOutcome.SENT


class AdapterState(StrEnum):
    """Where a supervised adapter is in its life."""

    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    FAILED = "failed"  # stopped for good: e.g. a wrong password, which retrying won't fix
    STOPPED = "stopped"


@dataclass(slots=True, kw_only=True)
class AdapterHealth:
    """Live health of one adapter, kept by the supervisor and shown by `health`."""

    name: str
    state: AdapterState = AdapterState.STARTING
    last_event_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    restarts: int = 0
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, counter: str, n: int = 1) -> None:
        self.counters[counter] = self.counters.get(counter, 0) + n

    # The only writers of `state`: the supervisor, `sync_once` and adapters all call these.

    def starting(self) -> None:
        """Connecting or logging in; not serving yet."""
        self.state = AdapterState.STARTING

    def running(self) -> None:
        """Connected and capturing."""
        self.state = AdapterState.RUNNING

    def backoff(self, error: BaseException) -> None:
        """Failed for a reason that may pass; waiting to try again (counts a restart)."""
        self._error(error)
        self.state = AdapterState.BACKOFF
        self.restarts += 1

    def failed(self, error: BaseException) -> None:
        """Stopped for good (e.g. a refused password) until the config changes."""
        self._error(error)
        self.state = AdapterState.FAILED

    def stopped(self) -> None:
        """Finished or cancelled on purpose."""
        self.state = AdapterState.STOPPED

    def _error(self, error: BaseException) -> None:
        self.last_error = f"{type(error).__name__}: {error}"
        self.last_error_at = utcnow()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state.value,
            "last_event_at": self.last_event_at.isoformat() if self.last_event_at else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "restarts": self.restarts,
            "counters": dict(self.counters),
        }


@runtime_checkable
class Sink(Protocol):
    """Where adapters push what they capture; the store's batch writer implements it.

    `put` waits when the queue is full (back-pressure, nothing dropped). `flush` returns
    once everything put so far is committed. `load_checkpoint` reads a resume point.
    """

    async def put(self, item: SinkItem) -> None: ...

    async def flush(self) -> None: ...

    async def load_checkpoint(self, source: str, key: str) -> str | None: ...


@runtime_checkable
class CaptureAdapter(Protocol):
    """A channel adapter that watches a source and pushes touches into a sink.

    `run` runs until cancelled and raises on failure (the supervisor restarts it with
    backoff; a `ChannelAuthError` stops it for good). `sync_once` catches up and returns.
    """

    name: str
    health: AdapterHealth

    async def run(self, sink: Sink) -> None: ...

    async def sync_once(self, sink: Sink) -> None: ...


@runtime_checkable
class Sender(Protocol):
    """Sends `OutgoingMessage`s on one channel and reports each result."""

    channel: Channel

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedRecipient:
    """One recipient a bounce reports on: as finally tried, as first given, and why."""

    address: str
    original: str | None = None
    action: str = "failed"
    status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce:
    """What a bounce letter (a DSN) says: who failed, about which letter, delivered where."""

    key: str
    form: str
    recipients: tuple[FailedRecipient, ...]
    original_message_id: str | None
    delivered_to: tuple[str, ...]
    permanent_hint: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceBatch:
    """Bounces read from a mailbox in one step, and where reading resumes after them."""

    letters: int
    bounces: tuple[Bounce, ...]
    resume: str


class BounceSource(Protocol):
    """The bounces of one mailbox folder after a resume point (a channel reads them)."""

    @property
    def key(self) -> str:
        """Names the folder's resume point."""
        ...

    def read(self, resume: str | None) -> AsyncGenerator[BounceBatch, None]:
        """Batches of bounces after `resume`, each with the resume point after it."""
        ...
