"""Closing the gap of an AMI outage with the PBX's own call records (pure functions).

After a reconnect the assembler knows which calls lost their channels while we were away
("held": their end was not seen) and which are still running. The PBX's CDR knows how
each call that ended in the gap really went. `close_gap` puts the two together: a held
call takes its end (and, if it was answered in the gap, its answer) from its record; a
call that happened entirely in the gap comes from its record alone; a call we logged live
or still follow is left to live capture, so a backfill never overwrites exact times with
whole seconds and never logs a call twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from hub.model import Status
from hub.telephony.call_assembler import FinishedCall


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round(max(0.0, (later - earlier).total_seconds()), 1)


#: CDR times are whole seconds: a record earlier than what live capture saw by at least
#: this much means live capture saw only the later part of the call (it reconnected).
WHOLE_SECOND = timedelta(seconds=1)


def _earlier(live: datetime | None, record: datetime | None) -> datetime | None:
    """The live time, unless the record's is a whole second or more before it."""
    if live is None or record is None:
        return live or record
    return record if record <= live - WHOLE_SECOND else live


def merge(live: FinishedCall, record: FinishedCall) -> FinishedCall:
    """A live call that lost part of its life to an outage, completed by its CDR record.

    What live capture saw exactly wins; the record wins where live capture came in late
    (a start or answer a second or more before the first one seen, transfers not seen).
    """
    answered_live = live.status is Status.ANSWERED
    answered = answered_live or record.status is Status.ANSWERED
    started = _earlier(live.started_at, record.started_at)
    answered_at = _earlier(
        live.answered_at if answered_live else None, record.answered_at if answered else None
    )
    ended = live.ended_at or record.ended_at
    if answered:
        ring = _seconds(answered_at, started)
        talk = _seconds(ended, answered_at)
    else:
        ring, talk = _seconds(ended, started), 0.0
    notes = tuple(n for n in live.notes if "unknown" not in n)
    return dataclasses.replace(
        live,
        status=live.status if answered_live or not answered else record.status,
        employee=live.employee if answered_live else (record.employee or live.employee),
        extensions_rung=tuple(sorted(set(live.extensions_rung) | set(record.extensions_rung))),
        started_at=started,
        answered_at=answered_at,
        ended_at=ended,
        ring_seconds=ring,
        talk_seconds=talk,
        transfers=live.transfers or record.transfers,
        reconciled=True,
        backfilled=True,
        notes=notes + record.notes,
    )


def close_gap(
    held: Sequence[FinishedCall],
    records: Iterable[FinishedCall],
    *,
    known: Callable[[str], bool],
    since: datetime | None,
    until: datetime | None,
) -> list[FinishedCall]:
    """The calls to log for an outage between `since` and `until`, in the order they started.

    `held` are the calls the reconnect closed; `records` the PBX's calls (any window: those
    outside the gap are skipped); `known(linkedid)` tells a call logged live or in flight.
    """
    by_id = {r.linkedid: r for r in records}
    out = [merge(call, by_id.pop(call.linkedid)) if call.linkedid in by_id else call for call in held]
    held_ids = {c.linkedid for c in held}
    for record in by_id.values():
        if record.linkedid in held_ids or known(record.linkedid):
            continue
        if since is not None and record.ended_at is not None and record.ended_at <= since:
            continue  # ended before the gap: live capture logged it
        if until is not None and record.started_at is not None and record.started_at > until:
            continue  # began after the reconnect: live capture sees it
        out.append(record)
    epoch = datetime.min.replace(tzinfo=None)
    return sorted(
        out, key=lambda c: c.started_at.replace(tzinfo=None) if c.started_at else epoch
    )
