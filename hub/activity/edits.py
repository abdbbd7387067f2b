"""Edits of recorded messages: the text and metadata change, the activity stays the one.

A `TouchEdit` names the activity by the key of its touch. What an edit may change is the
text (preview, subject) and the metadata, to which ``edited_at`` is added; status, times,
contact and employee are kept as recorded (an edit never sends a read message back to
"received"). An edit whose original never reached the store records the edited touch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hub.model import Touch, TouchEdit

#: Metadata key holding when the message was last edited (ISO 8601, UTC).
EDITED_AT = "edited_at"


def edited_touch(edit: TouchEdit) -> Touch:
    """The touch of an edit as a whole, marked edited: recorded when no original exists."""
    return replace(edit.touch, metadata={**edit.touch.metadata, EDITED_AT: edit.edited_at.isoformat()})


def edit_changes(old: Mapping[str, Any], edit: TouchEdit) -> dict[str, Any]:
    """The columns an edit changes in the activity row `old` (empty when none)."""
    touch = edit.touch
    changes: dict[str, Any] = {}
    for column, value in (("preview", touch.preview), ("subject", touch.subject)):
        if value is not None and value != old[column]:
            changes[column] = value
    meta = {**(old["meta"] or {}), **touch.metadata, EDITED_AT: edit.edited_at.isoformat()}
    if meta != old["meta"]:
        changes["meta"] = meta
    return changes
