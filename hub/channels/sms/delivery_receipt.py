"""SMSC delivery receipts: the `id:… stat:… err:…` text (SMPP 3.4 appendix B) and ids.

SMSCs disagree on the form of a message id: many answer submit_sm with a hexadecimal id and
write the same number in decimal in the receipt text (or the other way round). `id_forms`
gives every spelling of an id so a receipt finds its message either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from hub.channels.sms.smpp_pdu import MessageState
from hub.errors import ProtocolError
from hub.model import Status
from hub.text import ascii_int

#: Receipt `stat:` values and the status each means for the message.
STAT_STATUS: dict[str, Status] = {
    "DELIVRD": Status.DELIVERED,
    "ACCEPTD": Status.SENT,
    "ENROUTE": Status.SENT,
    "UNKNOWN": Status.SENT,
    "EXPIRED": Status.FAILED,
    "DELETED": Status.FAILED,
    "UNDELIV": Status.FAILED,
    "REJECTD": Status.FAILED,
}
#: message_state TLV values and the status each means.
STATE_STATUS: dict[int, Status] = {
    MessageState.DELIVERED: Status.DELIVERED,
    MessageState.ACCEPTED: Status.SENT,
    MessageState.ENROUTE: Status.SENT,
    MessageState.UNKNOWN: Status.SENT,
    MessageState.EXPIRED: Status.FAILED,
    MessageState.DELETED: Status.FAILED,
    MessageState.UNDELIVERABLE: Status.FAILED,
    MessageState.REJECTED: Status.FAILED,
}
#: The message_state each stat word stands for (to fill one from the other).
STAT_STATE: dict[str, MessageState] = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
}

_KEY_RE = re.compile(r"(?i)(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text):")
#: The layout of SMPP 3.4 appendix B exactly, read with one match (a receipt per message
#: sent: the general walk below cost about half of a receipt's decoding).
_CANONICAL_RE = re.compile(
    r"id:(\S+) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S+) err:(\S*)"
    r"(?: text:(.*))?",
    re.DOTALL,
)

#: `sub:`/`dlvrd:` are three digits by the SMPP spec; a few more are tolerated.
MAX_RECEIPT_COUNT = 999_999


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReceipt:
    """A parsed receipt; dates are aware (in the SMSC's zone, UTC unless told)."""

    message_id: str
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    stat: str = ""
    err: str = ""
    text: str = ""

    @property
    def status(self) -> Status:
        """What the receipt means for the message; an unknown stat word counts as sent."""
        return STAT_STATUS.get(self.stat.upper(), Status.SENT)


def _date(value: str, zone: tzinfo) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss; anything else is left out rather than guessed."""
    if not (value.isascii() and value.isdigit()) or len(value) not in (10, 12):
        return None
    # By hand rather than strptime (a receipt is parsed per message: thousands a second);
    # two-digit years as strptime's %y reads them (69-99 → 19xx, else 20xx).
    yy = int(value[0:2])
    second = int(value[10:12]) if len(value) == 12 else 0
    try:
        local = datetime(
            (1900 if yy >= 69 else 2000) + yy,
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            second,
            tzinfo=zone,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def _count(value: str) -> int | None:
    return ascii_int(value, maximum=MAX_RECEIPT_COUNT)


def parse_receipt(text: str, *, zone: tzinfo = UTC) -> DeliveryReceipt:
    """Parse receipt text; raises `ProtocolError` when it has no `id:` or no `stat:`."""
    canonical = _CANONICAL_RE.fullmatch(text)
    if canonical is not None:
        message_id, sub, dlvrd, submit_date, done_date, stat, err, rest = canonical.groups()
        return DeliveryReceipt(
            message_id=message_id,
            submitted=_count(sub),
            delivered=_count(dlvrd),
            submit_date=_date(submit_date, zone),
            done_date=_date(done_date, zone),
            stat=stat.upper(),
            err=err,
            text=rest or "",
        )
    fields: dict[str, str] = {}
    matches = list(_KEY_RE.finditer(text))
    for i, match in enumerate(matches):
        key = match.group(1).lower().replace("_", " ")
        if key == "text":  # the rest of the receipt, whatever words it holds
            fields.setdefault(key, text[match.end() :])
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    if "id" not in fields or "stat" not in fields:
        raise ProtocolError(f"not a delivery receipt: {text[:80]!r}", channel="sms")
    return DeliveryReceipt(
        message_id=fields["id"],
        submitted=_count(fields.get("sub", "")),
        delivered=_count(fields.get("dlvrd", "")),
        submit_date=_date(fields.get("submit date", ""), zone),
        done_date=_date(fields.get("done date", ""), zone),
        stat=fields["stat"].upper(),
        err=fields.get("err", ""),
        text=fields.get("text", ""),
    )


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def id_forms(message_id: str) -> frozenset[str]:
    """Every spelling of an SMSC message id: as given, and hex ↔ decimal where it parses.

    Hex forms are lower case without leading zeros; decimal forms without leading zeros.
    """
    value = message_id.strip()
    forms = {value, value.lower()}
    number_or_none = ascii_int(value)
    if number_or_none is not None:
        number = number_or_none
        forms |= {str(number), format(number, "x")}
    if value and _HEX_DIGITS.issuperset(value):
        number = int(value, 16)
        forms |= {format(number, "x"), str(number)}
    return frozenset(forms)


def ids_match(a: str, b: str) -> bool:
    """True when two ids name the same message in any of their spellings."""
    return bool(id_forms(a) & id_forms(b))

