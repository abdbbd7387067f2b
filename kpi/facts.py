"""Computing facts: from the daily roll-up where the filter allows, raw rows otherwise.

All indicators served by the roll-up share one read per date basis: their filters
become CASE expressions summed by the database over a few thousand roll-up rows, one
row back per employee. Drill-downs use the SQL
form of the same filters (`kpi.queries.filter_clause`), and a property test keeps the
two in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.rollups import client_base, client_state
from hub.activity.rollups.rules import MISSED_STATUSES
from kpi import queries
from kpi.catalogue import Aggregate, DateField, Filter, Indicator, Source
from kpi.periods import Period, PeriodKind, local_day, local_midnight
from kpi.results import Fact

BASIS = {DateField.OCCURRED_AT: "o", DateField.COMPLETED_AT: "c", DateField.DUE_AT: "d"}
_TOUCHES_ONLY = Filter(flags={"touch": True})


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


def _value(indicator: Indicator, n: int, total: float, contacts: int, numerator: int) -> Fact:
    agg = indicator.aggregate
    if agg is Aggregate.COUNT:
        return Fact(value=float(n), records=n)
    if agg is Aggregate.SUM:
        return Fact(value=total / indicator.divide_by, records=n)
    if agg is Aggregate.AVERAGE:
        return Fact(value=(total / n / indicator.divide_by) if n else 0.0, records=n)
    if agg is Aggregate.RATIO:
        return Fact(value=(100.0 * numerator / n) if n else 0.0, records=numerator)
    if agg is Aggregate.PER_CONTACT:
        return Fact(value=(n / contacts) if contacts else 0.0, records=n)
    return Fact(value=float(contacts), records=n)  # DISTINCT_CONTACTS: records are the activities


async def compute(
    conn: AsyncConnection,
    indicators: Sequence[Indicator],
    window: Window,
    tz: ZoneInfo,
    employee_ids: Sequence[int] | None,
) -> dict[tuple[int, str], Fact]:
    """Facts of `indicators` for the employees (None = all) over `window`; absent = zero."""
    facts: dict[tuple[int, str], Fact] = {}
    period = window.period
    today = local_day(window.today_start, tz)
    rolled = [i for i in indicators if uses_rollup(i)]
    whole_months = period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
    sums: dict[str, dict[int, tuple[int, float, int]]] = {}
    for basis in sorted({BASIS[i.date] for i in rolled}):
        chosen = [i for i in rolled if BASIS[i.date] == basis]
        wanted = [queries.RollupSum(i.where, i.field, i.numerator) for i in chosen]
        # Whole months read the monthly roll-up; only "overdue" (due basis) needs to know
        # which days are past, so the due basis of a period running today reads days.
        if whole_months and (basis != "d" or not period.start <= today < period.end):
            found = await queries.rollup_sums(
                conn,
                basis,
                wanted,
                employee_ids,
                months=[m.key for m in period.months()],
                today=today,
            )
        else:
            found = await queries.rollup_sums(
                conn, basis, wanted, employee_ids, days=(period.start, period.end), today=today
            )
        for position, indicator in enumerate(chosen):
            sums[indicator.code] = {emp: values[position] for emp, values in found.items()}
    for indicator in rolled:
        per_employee = sums[indicator.code]
        contacts: dict[int, int] = {}
        if indicator.aggregate in (Aggregate.PER_CONTACT, Aggregate.DISTINCT_CONTACTS):
            contacts = await _distinct_contacts(conn, indicator, window, employee_ids)
        for emp in {e for e, (n, _, _) in per_employee.items() if n} | set(contacts):
            n, total, num = per_employee.get(emp, (0, 0.0, 0))
            facts[(emp, indicator.code)] = _value(indicator, n, total, contacts.get(emp, 0), num)
    for indicator in indicators:
        if indicator in rolled:
            continue
        if indicator.source is Source.CONTACTS:
            facts.update(await _contact_facts(conn, indicator, window, tz, employee_ids))
            continue
        missed = missed_rollup_filter(indicator)
        if missed is not None:
            predicate = queries.missed_predicate(*missed, period.start, period.end)
            for emp, count in (await queries.missed_counts(conn, predicate, employee_ids)).items():
                facts[(emp, indicator.code)] = Fact(value=float(count), records=count)
            continue
        predicate = queries.activity_predicate(
            indicator.where, indicator.date, window.start, window.end, window.today_start
        )
        base = await queries.raw_aggregates(conn, predicate, employee_ids, indicator.field)
        numerators: dict[int, queries.RawAggregate] = {}
        if indicator.numerator is not None:
            counted = queries.activity_predicate(
                indicator.counted, indicator.date, window.start, window.end, window.today_start
            )
            numerators = await queries.raw_aggregates(conn, counted, employee_ids)
        for emp, agg in base.items():
            numerator = numerators[emp].n if emp in numerators else 0
            facts[(emp, indicator.code)] = _value(
                indicator, agg.n, agg.total, agg.contacts, numerator
            )
    return facts


async def _distinct_contacts(
    conn: AsyncConnection, indicator: Indicator, window: Window, employee_ids: Sequence[int] | None
) -> dict[int, int]:
    """Distinct contacts per employee: from the client-month roll-up when it answers exactly."""
    period = window.period
    if (
        indicator.where == _TOUCHES_ONLY
        and indicator.date is DateField.OCCURRED_AT
        and period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
    ):
        return await queries.distinct_touched_contacts(
            conn, [m.key for m in period.months()], employee_ids
        )
    predicate = queries.activity_predicate(
        indicator.where, indicator.date, window.start, window.end, window.today_start
    )
    raw = await queries.raw_aggregates(conn, predicate, employee_ids)
    return {emp: agg.contacts for emp, agg in raw.items()}


async def kept_as_deltas(conn: AsyncConnection, indicator: Indicator) -> bool:
    """Whether the store keeps this client-base indicator as per-owner daily deltas (so
    its state as of any day is a cheap read), rather than needing a scan of the clients."""
    kept = await client_base.maintained(conn)
    if indicator.aggregate is Aggregate.FILLED_SHARE:
        return kept.fields and set(indicator.fields) <= set(client_state.FIELDS)
    if indicator.aggregate is Aggregate.FORGOTTEN:
        return indicator.days in kept.forgotten_days
    return False


async def _contact_facts(
    conn: AsyncConnection,
    indicator: Indicator,
    window: Window,
    tz: ZoneInfo,
    employee_ids: Sequence[int] | None,
) -> dict[tuple[int, str], Fact]:
    """Client-base facts from the per-owner deltas when the store keeps them, else a scan."""
    result: dict[tuple[int, str], Fact] = {}
    deltas = await kept_as_deltas(conn, indicator)
    day = local_day(window.as_of, tz)
    if indicator.aggregate is Aggregate.FILLED_SHARE:
        if deltas:
            filled_measures = [client_state.filled_measure(f) for f in indicator.fields]
            counts = await client_base.owner_counts(
                conn, [client_state.CONTACTS, *filled_measures], day, employee_ids
            )
            quality = {
                emp: (c[client_state.CONTACTS], sum(c[m] for m in filled_measures))
                for emp, c in counts.items()
            }
        else:
            quality = await queries.contact_quality(
                conn, indicator.fields, window.as_of, employee_ids
            )
        slots = len(indicator.fields)
        for emp, (count, filled) in quality.items():
            if count:
                share = 100.0 * filled / (count * slots)
                result[(emp, indicator.code)] = Fact(value=share, records=count)
    else:
        if deltas:
            measure = client_state.forgotten_measure(indicator.days)
            counts = await client_base.owner_counts(conn, [measure], day, employee_ids)
            forgotten = {emp: c[measure] for emp, c in counts.items()}
        else:
            forgotten = await queries.forgotten_clients(
                conn, indicator.days, window.as_of, tz, employee_ids
            )
        for emp, count in forgotten.items():
            if count:
                result[(emp, indicator.code)] = Fact(value=float(count), records=count)
    return result


def zero() -> Fact:
    """The fact of an employee with no matching records."""
    return Fact(value=0.0, records=0)


def codes(indicators: Iterable[Indicator]) -> list[str]:
    """Indicator codes in order."""
    return [i.code for i in indicators]
