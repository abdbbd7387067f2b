"""What every fact read shares: the period's bounds, how records become a fact, and
which indicators the store's read models answer.

How each kind of indicator is read lives in `kpi.sources` (one strategy per source);
the SQL in `kpi.queries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity import client_base
from hub.activity.rollup import MISSED_STATUSES
from kpi.catalogue import Aggregate, DateField, Indicator, Source
from kpi.periods import Period, local_day, local_midnight
from kpi.results import Fact

BASIS = {DateField.OCCURRED_AT: "o", DateField.COMPLETED_AT: "c", DateField.DUE_AT: "d"}


def missed_rollup_filter(
    indicator: Indicator,
) -> tuple[frozenset[str] | None, bool | None, bool] | None:
    """(statuses, is_client, open) when `kpi_missed_calls` answers the indicator, else None.

    It keeps every unanswered inbound call, so it answers counts filtered on channel = call,
    direction = in, statuses other than answered, is_client and not_called_back."""
    flt = indicator.where
    if (
        indicator.source is not Source.ACTIVITIES
        or indicator.aggregate is not Aggregate.COUNT
        or indicator.date is not DateField.OCCURRED_AT
        or flt.sources is not None
        or "not_called_back" not in flt.flags
        or set(flt.flags) - {"not_called_back", "is_client"}
        or set(flt.enums) - {"channel", "direction", "status"}
        or flt.enums.get("channel") != frozenset({"call"})
        or flt.enums.get("direction") != frozenset({"in"})
    ):
        return None
    statuses = flt.enums.get("status")
    if statuses is None or not statuses <= MISSED_STATUSES:
        return None  # answered inbound calls are not in the table
    return statuses, flt.flags.get("is_client"), flt.flags["not_called_back"]


def uses_rollup(indicator: Indicator) -> bool:
    """Whether the indicator's fact can be read from the daily roll-up."""
    if indicator.source is not Source.ACTIVITIES or indicator.where.raw_only:
        return False
    return indicator.numerator is None or not indicator.numerator.raw_only


@dataclass(frozen=True, slots=True)
class Window:
    """A period's bounds as every query needs them."""

    period: Period
    start: datetime
    end: datetime
    today_start: datetime
    as_of: datetime

    @classmethod
    def of(cls, period: Period, tz: ZoneInfo, now: datetime) -> Window:
        start, end = period.utc_bounds(tz)
        today = local_day(now, tz)
        tonight = local_midnight(today + timedelta(days=1), tz)
        return cls(period, start, end, local_midnight(today, tz), min(end, tonight))


def value_of(indicator: Indicator, n: int, total: float, contacts: int, numerator: int) -> Fact:
    """The fact of an activity indicator from its records: `n` matching, the sum of its
    field over them, `contacts` distinct among them, `numerator` also matching the ratio's
    numerator. Counts stay whole numbers."""
    agg = indicator.aggregate
    if agg is Aggregate.COUNT:
        return Fact(value=n, records=n)
    if agg is Aggregate.SUM:
        return Fact(value=total / indicator.divide_by, records=n)
    if agg is Aggregate.AVERAGE:
        return Fact(value=(total / n / indicator.divide_by) if n else 0.0, records=n)
    if agg is Aggregate.RATIO:
        return Fact(value=(100.0 * numerator / n) if n else 0.0, records=numerator)
    if agg is Aggregate.PER_CONTACT:
        return Fact(value=(n / contacts) if contacts else 0.0, records=n)
    return Fact(value=contacts, records=n)  # DISTINCT_CONTACTS: records are the activities


async def kept_as_deltas(conn: AsyncConnection, indicator: Indicator) -> bool:
    """Whether the store keeps this client-base indicator as per-owner daily deltas (so
    its state as of any day is a cheap read), rather than needing a scan of the clients."""
    kept = await client_base.maintained(conn)
    if indicator.aggregate is Aggregate.FILLED_SHARE:
        return kept.fields and set(indicator.fields) <= set(client_base.FIELDS)
    if indicator.aggregate is Aggregate.FORGOTTEN:
        return indicator.days in kept.forgotten_days
    return False


def zero(indicator: Indicator) -> Fact:
    """The fact of an employee with no matching records."""
    return Fact(value=0 if indicator.counts else 0.0, records=0)
