"""What makes a hand-entered interaction acceptable, in the one place every caller goes through.

The repository checks these before it writes, so the command line and the API refuse
the same things: an empty subject, a negative duration, a date no business has, and
completing anything but a planned interaction (a captured letter or a missed call is
never rewritten as one). The API's schemas take their limits from here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hub.errors import Conflict, ValidationError
from hub.model import Channel, Status

#: Channels a person may enter by hand.
INTERACTION_CHANNELS = frozenset({Channel.MEETING, Channel.TASK, Channel.CALL, Channel.NOTE})
#: Longest subject (the API answer and the column hold this much).
MAX_SUBJECT = 2000
#: Longest result of a completed interaction.
MAX_RESULT = 10_000
#: Longest duration an interaction may have: about 115 days.
MAX_DURATION_S = 10_000_000.0
#: Years an interaction may carry, as written (with its own offset): anything else is a
#: typing mistake (0019 for 2019, 5448 for 2048). A fixed window, so that the API can
#: publish it as a pattern and a client can check it without asking the server.
FIRST_YEAR = 2000
LAST_YEAR = 2099
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
#: The window as a JSON Schema pattern on an ISO 8601 time.
YEAR_PATTERN = "^20[0-9]{2}-"


def _text(value: str, *, field: str, limit: int, what: str) -> str:
    text = value.strip()
    if not text:
        raise ValidationError(f"{what} is empty", field=field)
    if len(text) > limit:
        raise ValidationError(f"{what} is longer than {limit} characters", field=field)
    if "\x00" in text:
        raise ValidationError(f"{what} must not contain NUL characters", field=field)
    return text


def subject(value: str) -> str:
    """The subject, stripped; empty, over-long or NUL-holding ones are refused."""
    return _text(value, field="subject", limit=MAX_SUBJECT, what="the subject")


def result(value: str) -> str:
    """The result of a completed interaction, stripped."""
    return _text(value, field="result", limit=MAX_RESULT, what="a completed interaction's result")


def duration(value: float | None) -> float | None:
    """Seconds, finite, between 0 and `MAX_DURATION_S`."""
    if value is None:
        return None
    if isinstance(value, bool) or not math.isfinite(value) or not 0 <= value <= MAX_DURATION_S:
        raise ValidationError(
            f"the duration must be between 0 and {MAX_DURATION_S:.0f} seconds", field="duration_s"
        )
    return float(value)


def moment(value: datetime | None, *, field: str) -> datetime | None:
    """An aware time whose year, as written, is `FIRST_YEAR` … `LAST_YEAR`."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError(f"{field} must carry a time zone", field=field)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            f"{field} {value.isoformat()} is outside the years {FIRST_YEAR}–{LAST_YEAR}",
            field=field,
        )
    return value


def channel(value: Channel) -> Channel:
    """Only meetings, tasks, calls and notes are entered by hand."""
    if value not in INTERACTION_CHANNELS:
        raise ValidationError(
            f"an interaction is a meeting, task, call or note, not {value.value}",
            field="channel",
        )
    return value


def completable(activity_id: int, *, status: str, channel: str) -> None:
    """Only a planned meeting, task or call may be completed; a `Conflict` otherwise.

    Captured touches (letters, calls from the PBX) are facts: completing one would
    overwrite its status and result.
    """
    if status != Status.PLANNED.value or channel not in {c.value for c in INTERACTION_CHANNELS}:
        raise Conflict(
            f"activity #{activity_id} is {status} ({channel}), not a planned interaction",
            field="id",
            details={"status": status, "channel": channel},
        )
