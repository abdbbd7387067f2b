"""Numbers typed by people or sent by peers: ASCII digits only, checked before `int()`.

`str.isdigit()` is true for ``¹`` and ``٣``, on which `int()` either fails or quietly
reads a number nobody typed; `int()` also takes ``1_000`` and spaces, and an over-long
string costs time and raises advice about `sys.set_int_max_str_digits()`. Every place
that turns user or wire text into an integer goes through `ascii_int`.
"""

from __future__ import annotations

import re

#: The largest id the databases hold (signed 64-bit) and the default bound.
MAX_INT64 = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-?[0-9]+")


def ascii_int(
    text: str, *, minimum: int = 0, maximum: int = MAX_INT64, signed: bool = False
) -> int | None:
    """The integer `text` spells in ASCII digits within [minimum, maximum]; None otherwise.

    No spaces, underscores or plus sign; a minus sign only when `signed`.
    """
    if not (_SIGNED if signed else _DIGITS).fullmatch(text):
        return None
    if len(text.lstrip("-").lstrip("0")) > len(str(max(abs(minimum), abs(maximum)))):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def is_ascii_int(text: str) -> bool:
    """Whether `text` is a non-negative integer of ASCII digits (any size)."""
    return _DIGITS.fullmatch(text) is not None
