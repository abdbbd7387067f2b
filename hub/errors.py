"""The one exception tree of touchhub.

    TouchhubError
    ├── ConfigError                  bad or missing configuration (names the key)
    ├── ChannelError                 something went wrong talking to the outside world
    │   ├── ChannelConnectError      could not reach the peer (refused, DNS, TLS); retry later
    │   ├── ChannelAuthError         the peer refused our credentials; retrying won't help
    │   ├── ChannelTimeout           the peer did not answer in time; retry later
    │   ├── RateLimited              the peer asked us to slow down (`retry_after` seconds)
    │   ├── CallRefused              the employee's own phone refused a click-to-call (`kind`)
    │   └── ProtocolError            the peer said something we cannot understand
    │       └── MalformedPdu         an SMPP PDU that cannot be decoded (status to answer it)
    ├── StoreError                   the activity store failed
    │   ├── StoreUnavailable         the database cannot be reached or opened
    │   └── NotFound                 a contact, employee, activity … that does not exist
    ├── ValidationError              input from a user that we refuse (names the field)
    │   ├── InvalidAddress           a phone number or e-mail address that cannot be normalised
    │   ├── Conflict                 clashes with what exists (an address owned by another contact)
    │   └── TemplateError            a message template that cannot be saved or rendered (part, line)
    ├── Unauthenticated              no credentials, or ones we don't know
    └── PermissionDenied             the caller may not see or change this

Library exceptions are translated at the adapter boundary with ``raise … from exc``;
auth failures are kept apart from transient ones so a wrong password causes no retry storm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TouchhubError(Exception):
    """Base of every error touchhub raises on purpose."""


class ConfigError(TouchhubError):
    """Configuration is missing or wrong; the message names the key."""


class ChannelError(TouchhubError):
    """A failure talking to a channel's peer; carries the channel and, when known, an id."""

    def __init__(
        self, message: str, *, channel: str | None = None, external_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.external_id = external_id

    def __str__(self) -> str:
        text = super().__str__()
        context = ", ".join(
            f"{k}={v}" for k, v in (("channel", self.channel), ("id", self.external_id)) if v
        )
        return f"{text} ({context})" if context else text


class ChannelConnectError(ChannelError):
    """The peer could not be reached (refused, unreachable, TLS failure); transient."""


class ChannelAuthError(ChannelError):
    """The peer refused our credentials; permanent until the config changes."""


class ChannelTimeout(ChannelError):
    """The peer did not answer in time; transient."""


class RateLimited(ChannelError):
    """The peer asked us to slow down; retry after `retry_after` seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        channel: str | None = None,
        external_id: str | None = None,
    ) -> None:
        super().__init__(message, channel=channel, external_id=external_id)
        self.retry_after = retry_after


class CallRefused(ChannelError):
    """The employee's own phone refused a click-to-call: `kind` is "busy", "no_answer",
    "rejected" or "unreachable". Not a fault of the PBX; the caller may try again later."""

    def __init__(self, message: str, *, kind: str, channel: str | None = None) -> None:
        super().__init__(message, channel=channel)
        self.kind = kind


class ProtocolError(ChannelError):
    """The peer sent something that does not follow its protocol."""


class StoreError(TouchhubError):
    """The activity store failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""


class NotFound(StoreError):
    """The thing asked for does not exist."""


class ValidationError(TouchhubError):
    """Input we refuse; `field` names what is wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownReference(ValidationError):
    """Well-formed input naming something that does not exist (an employee id, a gateway,
    a 30 February): the API answers 404 with the field, the CLI one line."""


class InvalidAddress(ValidationError):
    """A phone number, e-mail or messenger id that cannot be normalised."""


class Conflict(ValidationError):
    """The request clashes with what exists; `details` names the owner or the clash."""

    def __init__(
        self, message: str, *, field: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.details = dict(details or {})


class TemplateError(ValidationError):
    """A template refused at save time or failing at render time; names the part and line."""

    def __init__(self, message: str, *, part: str, line: int | None = None) -> None:
        super().__init__(message, field=part)
        self.part = part
        self.line = line

    def __str__(self) -> str:
        where = self.part if self.line is None else f"{self.part}, line {self.line}"
        return f"{where}: {super().__str__()}"


class Unauthenticated(TouchhubError):
    """No credentials, or ones we don't know: the caller must (re)authenticate."""


class PermissionDenied(TouchhubError):
    """The caller may not see or change this."""


class MalformedPdu(ProtocolError):
    """A binary protocol unit (an SMPP PDU) we cannot decode; `command_status` answers it."""

    def __init__(
        self,
        message: str,
        *,
        command_status: int,
        sequence_number: int | None = None,
        channel: str | None = None,
        external_id: str | None = None,
    ) -> None:
        super().__init__(message, channel=channel, external_id=external_id)
        self.command_status = command_status
        self.sequence_number = sequence_number
