"""Page cursors: what is handed out comes back as the same key; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.activity.cursor import (
    ID_PATTERN,
    TIME_ID_PATTERN,
    decode_id,
    decode_time_id,
    encode_id,
    encode_time_id,
)
from hub.errors import ValidationError

TIMES = [
    datetime(2026, 12, 6, 15, 30, 0, 123456, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=3))),
    datetime(5000, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1700, 1, 1, tzinfo=UTC),
]
#: The largest id a cursor carries (18 digits: every id the pattern allows fits 64 bits).
BIGGEST = 10**18 - 1


@pytest.mark.parametrize("at", TIMES)
@pytest.mark.parametrize("row_id", [0, 1, BIGGEST])
def test_time_and_id_come_back(at: datetime, row_id: int) -> None:
    back_at, back_id = decode_time_id(encode_time_id(at, row_id))
    assert back_at == at and back_at.tzinfo is UTC and back_id == row_id


@pytest.mark.parametrize("row_id", [0, 7, BIGGEST])
def test_id_comes_back(row_id: int) -> None:
    assert decode_id(encode_id(row_id)) == row_id


def test_a_naive_time_is_no_cursor() -> None:
    with pytest.raises(ValueError):
        encode_time_id(datetime(2026, 1, 1), 1)


GARBAGE = [
    "",
    "garbage!",
    "1.2.3",
    "1.",
    ".1",
    "1.-2",
    "-1",
    "1e5.1",
    " 1.1",
    "١٢.٣",  # digits, but not ASCII ones
    "²",
    f"1.{2**63}",
    "99999999999999999999.1",
    "999999999999999999.1",  # beyond year 9999
    "1.1234567890123456789",  # an id of 19 digits
    "MjAyNC0wMS0wMVQwMDowMDowMHwx",  # an old base64 "time|id" cursor
]


@pytest.mark.parametrize("cursor", GARBAGE)
def test_anything_else_is_one_clear_error(cursor: str) -> None:
    for decode in (decode_id, decode_time_id):
        with pytest.raises(ValidationError, match="not one this API gave out") as caught:
            decode(cursor)
        assert caught.value.field == "cursor"


@given(st.from_regex(TIME_ID_PATTERN, fullmatch=True))
def test_every_cursor_the_published_pattern_allows_is_a_position(cursor: str) -> None:
    at, row_id = decode_time_id(cursor)
    assert at.tzinfo is UTC and 0 <= row_id < 2**63


@given(st.from_regex(ID_PATTERN, fullmatch=True))
def test_every_id_cursor_the_pattern_allows_is_a_position(cursor: str) -> None:
    assert 0 <= decode_id(cursor) < 2**63
