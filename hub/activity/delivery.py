"""Delivery state per recipient: a bounce marks its recipient, not the whole letter.

A letter to two people of whom one bounced was still delivered to the other; it is
"bounced" only once every recipient it was addressed to has bounced. The recipients
are the addresses in the letter's To, Cc and Bcc as recorded in its metadata; a touch
without them (an SMS, a letter recorded before they were kept) has one recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import getaddresses
from typing import Any

#: Metadata key listing the recipients that bounced, case-folded.
BOUNCED_TO = "bounced_to"


def recipients_of(meta: Mapping[str, Any]) -> set[str]:
    """The case-folded addresses a letter was sent to (To, Cc, Bcc)."""
    written = [str(a) for key in ("to", "cc", "bcc") for a in (meta.get(key) or [])]
    return {address.casefold() for _, address in getaddresses(written) if "@" in address}


def with_bounce(meta: Mapping[str, Any], address: str) -> tuple[dict[str, Any], bool]:
    """`meta` with `address` among the bounced recipients, and whether all have bounced now."""
    bounced = {a.casefold() for a in meta.get(BOUNCED_TO) or []} | {address.strip().casefold()}
    updated = {**meta, BOUNCED_TO: sorted(bounced)}
    recipients = recipients_of(meta)
    return updated, not recipients or recipients <= bounced
