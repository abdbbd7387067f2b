"""`StoreOptions`: every tunable of the activity store, as one typed value.

Built once by the wiring (`hub/cli/common.py` from the settings) and handed to
`ActivityStore.open`; the parts the repositories, the missed-call tasks and the batch
writer need are passed on to them as values, never the store itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

#: What to do with a counterpart no contact or employee owns yet.
UnknownPolicy = Literal["lead", "unlinked"]

DEFAULT_REGION = "RU"
DEFAULT_TIMEZONE = "Europe/Moscow"
DEFAULT_CALLBACK_DUE = timedelta(minutes=30)
DEFAULT_CALLBACK_WINDOW = timedelta(hours=24)
DEFAULT_REPLY_WITHIN = timedelta(minutes=30)
DEFAULT_BATCH_SIZE = 5000
DEFAULT_WINDOW_MS = 50
DEFAULT_QUEUE_SIZE = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackPolicy:
    """Missed inbound calls raise a "call back" task due `due` later; an answered call
    with the same client within `window` of the miss completes it."""

    due: timedelta = DEFAULT_CALLBACK_DUE
    window: timedelta = DEFAULT_CALLBACK_WINDOW


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogPolicy:
    """Messenger dialogs: whose a dialog is when its contact has no responsible employee
    (`queue`, an employee id; None: nobody's until someone takes the contact), and how long
    an incoming message may wait for a reply before a reminder task is raised."""

    queue: int | None = None
    reply_within: timedelta = DEFAULT_REPLY_WITHIN


@dataclass(frozen=True, slots=True, kw_only=True)
class WriterOptions:
    """How the batch writer groups items: at most `batch_size` per transaction, or what
    arrived within `window_ms` of the first; producers wait beyond `queue_size` queued."""

    batch_size: int = DEFAULT_BATCH_SIZE
    window_ms: int = DEFAULT_WINDOW_MS
    queue_size: int = DEFAULT_QUEUE_SIZE

    def __post_init__(self) -> None:
        for name in ("batch_size", "window_ms", "queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """How the store normalises, links and batches what it records."""

    #: Region for phone numbers written without a country code.
    region: str = DEFAULT_REGION
    #: "lead": an unknown counterpart becomes a lead contact; "unlinked": it stays unlinked.
    unknown_counterparty: UnknownPolicy = "lead"
    #: The local time zone of days in roll-ups and the client base (an IANA name).
    timezone: str = DEFAULT_TIMEZONE
    callbacks: CallbackPolicy = field(default_factory=CallbackPolicy)
    dialogs: DialogPolicy = field(default_factory=DialogPolicy)
    writer: WriterOptions = field(default_factory=WriterOptions)

    def __post_init__(self) -> None:
        if self.unknown_counterparty not in ("lead", "unlinked"):
            raise ValueError(
                f"unknown_counterparty must be lead or unlinked, not {self.unknown_counterparty!r}"
            )
        ZoneInfo(self.timezone)  # an unknown zone fails here, where the options are built

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone (`ZoneInfo` keeps one instance per name)."""
        return ZoneInfo(self.timezone)
