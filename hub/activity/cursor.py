"""Page cursors, one format for every listing: "ID" or "MICROSECONDS.ID".

A listing continues after a key: an id (newest id first) or a time and an id (newest
first, ties broken by id). The cursor is that key written out: the time as microseconds
since the Unix epoch, a dot, the id. Anything else is a `ValidationError` on `cursor`,
which the API answers with 400.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hub.errors import ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: The id part: at most 18 digits, so always below 2**63.
_ID = "[0-9]{1,18}"
#: The time part: microseconds from 1653 to 5138, always a representable datetime.
_MICROS = "(-[0-9]{1,16}|[0-9]{1,17})"
#: Every string these match decodes; the API publishes them as the cursors' patterns.
ID_PATTERN = f"^{_ID}$"
TIME_ID_PATTERN = f"^{_MICROS}\\.{_ID}$"


def bad_cursor(cursor: str) -> ValidationError:
    """The one error for a cursor this API did not give out."""
    return ValidationError(f"cursor {cursor!r} is not one this API gave out", field="cursor")


def encode_id(row_id: int) -> str:
    """The cursor of a listing ordered by id alone."""
    return str(row_id)


def encode_time_id(at: datetime, row_id: int) -> str:
    """The cursor of a listing ordered by (time, id); `at` must be aware."""
    if at.tzinfo is None:
        raise ValueError("a cursor time must be aware")
    return f"{(at - EPOCH) // _MICROSECOND}.{row_id}"


def _id(text: str, cursor: str) -> int:
    if not re.fullmatch(_ID, text):
        raise bad_cursor(cursor)
    return int(text)


def decode_id(cursor: str) -> int:
    """The id an id-ordered cursor points after."""
    return _id(cursor, cursor)


def decode_time_id(cursor: str) -> tuple[datetime, int]:
    """The (aware UTC time, id) a (time, id)-ordered cursor points after."""
    micros, dot, row_id = cursor.partition(".")
    if not dot or not re.fullmatch(_MICROS, micros):
        raise bad_cursor(cursor)
    return EPOCH + int(micros) * _MICROSECOND, _id(row_id, cursor)
