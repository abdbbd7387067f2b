"""Only ASCII digits make numbers; everything else is None, never an exception."""

from __future__ import annotations

import pytest

from hub.text import MAX_INT64, ascii_int, is_ascii_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        (str(MAX_INT64), MAX_INT64),
        (str(MAX_INT64 + 1), None),
        ("9" * 5000, None),
        ("\u00b9", None),
        ("\u0661", None),
        ("1_000", None),
        (" 5", None),
        ("+5", None),
        ("-5", None),
        ("", None),
        ("5\n", None),
    ],
)
def test_ascii_int(text: str, expected: int | None) -> None:
    assert ascii_int(text) == expected


def test_bounds_and_sign() -> None:
    assert ascii_int("0", minimum=1) is None
    assert ascii_int("70000", maximum=65535) is None
    assert ascii_int("-5", signed=True, minimum=-10) == -5
    assert ascii_int("-5", signed=True) is None  # below the default minimum of 0
    assert ascii_int("0" * 100 + "7") == 7
    assert is_ascii_int("12") and not is_ascii_int("\u00b2") and not is_ascii_int("")
