"""Every KPI rule that is judged both in Python and in SQL, each pair side by side.

The roll-ups are moved in Python from the rows a transaction wrote (`deltas.py`) and
rebuilt, read and drilled into in SQL (`rebuild.py`, `kpi/queries.py`); both must say
the same of every activity. Each rule here is a Python predicate over an activity row
and its SQL twin over a table with the activities' columns, and
`tests/integration/activity/test_rules.py` checks that they agree on generated
activities on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false

from hub.activity.rollups.tables import kpi_missed_calls
from hub.activity.schema import activities
from hub.model import Channel, Direction, Status

#: Source of the "call back" tasks raised for missed calls (`hub/activity/callbacks.py`).
CALLBACK_SOURCE = "callback"

#: A client touch: a call, letter, SMS, messenger message or meeting that really happened.
TOUCH_CHANNELS: frozenset[str] = frozenset(
    {Channel.CALL, Channel.EMAIL, Channel.SMS, Channel.MESSENGER, Channel.MEETING}
)
TOUCH_DIRECTIONS: tuple[str, ...] = (Direction.IN.value, Direction.OUT.value)
NOT_A_TOUCH_STATUSES: frozenset[str] = frozenset(
    {Status.PLANNED, Status.CANCELLED, Status.QUEUED, Status.FAILED, Status.BOUNCED}
)
#: Statuses of the inbound calls `kpi_missed_calls` keeps (every one but answered).
MISSED_STATUSES: frozenset[str] = frozenset(s.value for s in Status if s is not Status.ANSWERED)
#: Directions of the answered calls that count as calling a client back.
CALLBACK_DIRECTIONS = (Direction.IN.value, Direction.OUT.value)

Row = Mapping[str, Any]

# Plain strings for the hot loop (an enum's .value is a descriptor call).
_CALL = Channel.CALL.value
_TASK = Channel.TASK.value
_IN = Direction.IN.value
_ANSWERED = Status.ANSWERED.value
_COMPLETED = Status.COMPLETED.value


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# -- a client touch --------------------------------------------------------------------


def is_touch(channel: str, direction: str, status: str, is_client: bool) -> bool:
    """Whether an activity is a client touch (the numerator of touches per client)."""
    return (
        bool(is_client)
        and channel in TOUCH_CHANNELS
        and direction in TOUCH_DIRECTIONS
        and status not in NOT_A_TOUCH_STATUSES
    )


def touch_clause(table: Any = activities) -> ColumnElement[bool]:
    """`is_touch` as SQL (on the activities or a roll-up with the same columns)."""
    return and_(
        table.c.is_client.is_(True),
        table.c.channel.in_(sorted(TOUCH_CHANNELS)),
        table.c.direction.in_(list(TOUCH_DIRECTIONS)),
        table.c.status.not_in(sorted(NOT_A_TOUCH_STATUSES)),
    )


# -- a recorded result -----------------------------------------------------------------


def has_result(result: Any) -> bool:
    """A recorded result is a non-empty one."""
    return bool(result)


def has_result_clause(table: Any = activities) -> ColumnElement[bool]:
    """`has_result` as SQL."""
    return and_(table.c.result.is_not(None), table.c.result != "")


# -- done late ------------------------------------------------------------------------


def is_late(completed_at: datetime | None, due_at: datetime | None) -> bool:
    """Completed after it was due."""
    return completed_at is not None and due_at is not None and _aware(completed_at) > _aware(due_at)


def late_clause(table: Any = activities) -> ColumnElement[bool]:
    """`is_late` as SQL."""
    c = table.c
    return and_(c.completed_at.is_not(None), c.due_at.is_not(None), c.completed_at > c.due_at)


# -- a missed call (a row of kpi_missed_calls) -----------------------------------------


def is_missed_call(row: Row) -> bool:
    """An inbound call nobody answered."""
    return bool(row["channel"] == _CALL and row["direction"] == _IN and row["status"] != _ANSWERED)


def missed_call_clause(table: Any = activities) -> ColumnElement[bool]:
    """`is_missed_call` as SQL."""
    c = table.c
    return and_(c.channel == _CALL, c.direction == _IN, c.status != _ANSWERED)


# -- an answered call that calls a client back -----------------------------------------


def is_answered_call(row: Row) -> bool:
    """An answered call, in or out, with a known client: it calls back every earlier miss."""
    return bool(
        row["channel"] == _CALL
        and row["status"] == _ANSWERED
        and row["direction"] in CALLBACK_DIRECTIONS
        and row.get("contact_id") is not None
    )


def answered_call_clause(table: Any = activities) -> ColumnElement[bool]:
    """`is_answered_call` as SQL."""
    c = table.c
    return and_(
        c.channel == _CALL,
        c.status == _ANSWERED,
        c.direction.in_(CALLBACK_DIRECTIONS),
        c.contact_id.is_not(None),
    )


def answered_later_clause(contact_id: Any, occurred_at: Any) -> ColumnElement[bool]:
    """An answered call (`answered_call_clause`) with the client after `occurred_at`."""
    later = activities.alias("later")
    return exists().where(
        and_(
            answered_call_clause(later),
            later.c.contact_id == contact_id,
            later.c.occurred_at > occurred_at,
        )
    )


# -- a completed callback task ---------------------------------------------------------


def completed_callback_for(row: Row) -> int | None:
    """The call a completed callback task calls back (None for any other activity)."""
    if (
        row["channel"] != _TASK
        or row["status"] != _COMPLETED
        or row.get("source", CALLBACK_SOURCE) != CALLBACK_SOURCE
    ):
        return None
    meta = row.get("meta") or {}
    value = meta.get("callback_for") if isinstance(meta, Mapping) else None
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def completed_callback_clause(table: Any = activities) -> ColumnElement[bool]:
    """`completed_callback_for(row) is not None` as SQL (with `callback_for_column`)."""
    c = table.c
    return and_(
        c.channel == _TASK,
        c.status == _COMPLETED,
        c.source == CALLBACK_SOURCE,
        callback_for_column(table).is_not(None),
    )


def callback_for_column(table: Any = activities) -> ColumnElement[Any]:
    """The call id a callback task names, as SQL."""
    return table.c.meta["callback_for"].as_integer()  # type: ignore[no-any-return]


def callback_done_clause(call_id: Any, contact_id: Any, occurred_at: Any) -> ColumnElement[bool]:
    """A completed callback task for the call, with its client, raised at or after it."""
    task = activities.alias("cb")
    return exists().where(
        and_(
            completed_callback_clause(task),
            callback_for_column(task) == call_id,
            task.c.contact_id == contact_id,
            task.c.occurred_at >= occurred_at,
        )
    )


def open_missed_clause() -> ColumnElement[bool]:
    """A missed call nobody called back (no completed callback task, no later answered call)."""
    m = kpi_missed_calls.c
    return and_(m.task_done == false(), m.answered_later == false())
