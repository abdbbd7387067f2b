"""One strategy per indicator source: where its facts are read, and which records its
drill-down lists (always the records the fact was counted from).

| strategy            | facts from                                  | drill-down lists          |
|---------------------|---------------------------------------------|---------------------------|
| `ActivityRollup`    | kpi_monthly / kpi_daily, one read per date  | activities, by time       |
|                     | basis for all such indicators together      |                           |
| `ActivityScan`      | activities (filters the roll-up can't hold) | activities, by time       |
| `MissedCalls`       | kpi_missed_calls                            | its activities, by id     |
| `ClientBaseQuality` | per-owner deltas, else a pass over clients  | owned contacts, by id     |
| `ForgottenClients`  | per-owner deltas, else a pass over clients  | forgotten contacts, by id |

`source_of(indicator)` picks the strategy; `compute` reads the facts of many indicators,
each group through its own strategy. What they share is here too: the period's window,
the arithmetic from records to a fact, which indicators a read model answers. The SQL
is in `kpi.queries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.rollups import client_base, client_state
from hub.activity.rollups.rules import MISSED_STATUSES
from kpi import queries
from kpi.catalogue import Aggregate, DateField, Filter, Indicator, Source
from kpi.periods import Period, PeriodKind, local_day, local_midnight
from kpi.results import Fact

# -- what every source shares ----------------------------------------------------------

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


async def kept_as_deltas(
    conn: AsyncConnection, indicator: Indicator, kept: client_state.Maintained | None = None
) -> bool:
    """Whether the store keeps this client-base indicator as per-owner daily deltas (so
    its state as of any day is a cheap read), rather than needing a scan of the clients.
    `kept` is what the store keeps, when the caller read it already."""
    if kept is None:
        kept = await client_base.maintained(conn)
    if indicator.aggregate is Aggregate.FILLED_SHARE:
        return kept.fields and set(indicator.fields) <= set(client_state.FIELDS)
    if indicator.aggregate is Aggregate.FORGOTTEN:
        return indicator.days in kept.forgotten_days
    return False


def zero(indicator: Indicator) -> Fact:
    """The fact of an employee with no matching records."""
    return Fact(value=0 if indicator.counts else 0.0, records=0)


# -- the strategies ---------------------------------------------------------------------

Facts = dict[tuple[int, str], Fact]
Row = dict[str, Any]
_TOUCHES_ONLY = Filter(flags={"touch": True})
_WHOLE_MONTHS = (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """What every read needs: the period's bounds, the company's time zone and, for a
    closed month, when it closed (its drill-down lists what the frozen fact counted);
    `kept`, what the store keeps of the client base, when the reader read it already."""

    window: Window
    tz: ZoneInfo
    closed_at: datetime | None = None
    kept: client_state.Maintained | None = None


class Keyset(Enum):
    """How a drill-down's pages follow each other (the cursor's parts)."""

    TIME_ID = 2  # newest first by (the indicator's date, id)
    ID = 1  # highest id first


@dataclass(frozen=True, slots=True)
class After:
    """Where the next page starts: after (`at`, `id`) by time, or below `id`."""

    id: int
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DrillRows:
    """The records behind a fact: how many in all, and the rows of one page."""

    total: int
    rows: list[Row]


class RecordSource(Protocol):
    """How one kind of indicator is counted and which records its drill-down lists."""

    keyset: Keyset

    async def facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        reading: Reading,
        employee_ids: Sequence[int] | None,
    ) -> Facts:
        """Facts of `indicators` (all of this source) per employee; absent means zero."""
        ...

    async def drill(
        self,
        conn: AsyncConnection,
        indicator: Indicator,
        reading: Reading,
        employee_id: int,
        *,
        after: After | None,
        limit: int,
    ) -> DrillRows:
        """The records one employee's fact was counted from, `limit` of them."""
        ...


# -- activities -------------------------------------------------------------------------


class ActivityScan:
    """Activity indicators whose filter only the activities table can answer."""

    keyset = Keyset.TIME_ID

    async def facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        reading: Reading,
        employee_ids: Sequence[int] | None,
    ) -> Facts:
        """SELECT employee, COUNT(*), COUNT(DISTINCT contact), SUM(field) per indicator
        (and its numerator) over the activities of the window."""
        window = reading.window
        facts: Facts = {}
        for indicator in indicators:
            predicate = _activity_predicate(indicator.where, indicator, window)
            base = await queries.raw_aggregates(conn, predicate, employee_ids, indicator.field)
            numerators: dict[int, queries.RawAggregate] = {}
            if indicator.numerator is not None:
                counted = _activity_predicate(indicator.counted, indicator, window)
                numerators = await queries.raw_aggregates(conn, counted, employee_ids)
            for emp, agg in base.items():
                numerator = numerators[emp].n if emp in numerators else 0
                facts[(emp, indicator.code)] = value_of(
                    indicator, agg.n, agg.total, agg.contacts, numerator
                )
        return facts

    async def total(
        self, conn: AsyncConnection, indicator: Indicator, reading: Reading, employee_id: int
    ) -> int:
        """How many activities the employee's fact counted."""
        predicate = self._drilled(indicator, reading)
        return await queries.count_activities(conn, predicate, employee_id)

    def _drilled(self, indicator: Indicator, reading: Reading) -> list[ColumnElement[bool]]:
        predicate = _activity_predicate(indicator.counted, indicator, reading.window)
        if reading.closed_at is not None:  # what the frozen fact counted: recorded before
            predicate.append(queries.recorded_by(reading.closed_at))
        return predicate

    async def drill(
        self,
        conn: AsyncConnection,
        indicator: Indicator,
        reading: Reading,
        employee_id: int,
        *,
        after: After | None,
        limit: int,
    ) -> DrillRows:
        """The counted activities, newest first along the (employee, date) index."""
        rows = await queries.drill_activities(
            conn,
            self._drilled(indicator, reading),
            employee_id,
            indicator.date,
            after=None if after is None or after.at is None else (after.at, after.id),
            limit=limit,
        )
        return DrillRows(await self.total(conn, indicator, reading, employee_id), rows)


class ActivityRollup(ActivityScan):
    """Activity indicators the daily roll-up answers: all of them summed in one read
    per date basis (a CASE per indicator over a few thousand roll-up rows)."""

    async def facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        reading: Reading,
        employee_ids: Sequence[int] | None,
    ) -> Facts:
        """SELECT employee, SUM(CASE WHEN <filter> THEN n END), … FROM kpi_monthly or
        kpi_daily per date basis; distinct contacts from the client-month roll-up."""
        window = reading.window
        period = window.period
        today = local_day(window.today_start, reading.tz)
        facts: Facts = {}
        for basis in sorted({BASIS[i.date] for i in indicators}):
            chosen = [i for i in indicators if BASIS[i.date] == basis]
            wanted = [queries.RollupSum(i.where, i.field, i.numerator) for i in chosen]
            # Whole months read the monthly roll-up; only "overdue" (due basis) needs to
            # know which days are past, so the due basis of a running period reads days.
            if period.kind in _WHOLE_MONTHS and (
                basis != "d" or not period.start <= today < period.end
            ):
                months = [m.key for m in period.months()]
                found = await queries.rollup_sums(
                    conn, basis, wanted, employee_ids, months=months, today=today
                )
            else:
                days = (period.start, period.end)
                found = await queries.rollup_sums(
                    conn, basis, wanted, employee_ids, days=days, today=today
                )
            for position, indicator in enumerate(chosen):
                contacts: dict[int, int] = {}
                if indicator.aggregate in (Aggregate.PER_CONTACT, Aggregate.DISTINCT_CONTACTS):
                    contacts = await _distinct_contacts(conn, indicator, window, employee_ids)
                sums = {emp: values[position] for emp, values in found.items()}
                for emp in {e for e, (n, _, _) in sums.items() if n} | set(contacts):
                    n, total, numerator = sums.get(emp, (0, 0.0, 0))
                    facts[(emp, indicator.code)] = value_of(
                        indicator, n, total, contacts.get(emp, 0), numerator
                    )
        return facts

    async def total(
        self, conn: AsyncConnection, indicator: Indicator, reading: Reading, employee_id: int
    ) -> int:
        """An open period's total is the fact's own count; a closed one's is what the
        store held when it closed."""
        if reading.closed_at is not None:
            return await super().total(conn, indicator, reading, employee_id)
        facts = await self.facts(conn, [indicator], reading, [employee_id])
        return facts.get((employee_id, indicator.code), zero(indicator)).records


def _activity_predicate(
    flt: Filter, indicator: Indicator, window: Window
) -> list[ColumnElement[bool]]:
    return queries.activity_predicate(
        flt, indicator.date, window.start, window.end, window.today_start
    )


async def _distinct_contacts(
    conn: AsyncConnection, indicator: Indicator, window: Window, employee_ids: Sequence[int] | None
) -> dict[int, int]:
    """Distinct contacts per employee: from the client-month roll-up when it answers exactly."""
    period = window.period
    if (
        indicator.where == _TOUCHES_ONLY
        and indicator.date is DateField.OCCURRED_AT
        and period.kind in _WHOLE_MONTHS
    ):
        months = [m.key for m in period.months()]
        return await queries.distinct_touched_contacts(conn, months, employee_ids)
    predicate = _activity_predicate(indicator.where, indicator, window)
    raw = await queries.raw_aggregates(conn, predicate, employee_ids)
    return {emp: agg.contacts for emp, agg in raw.items()}


# -- missed calls -----------------------------------------------------------------------


class MissedCalls:
    """Missed inbound calls (not) called back: the `kpi_missed_calls` read model."""

    keyset = Keyset.ID

    @staticmethod
    def _predicate(indicator: Indicator, reading: Reading) -> list[ColumnElement[bool]]:
        missed = missed_rollup_filter(indicator)
        assert missed is not None, f"{indicator.code} is not a missed-call count"
        period = reading.window.period
        return queries.missed_predicate(*missed, period.start, period.end)

    async def facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        reading: Reading,
        employee_ids: Sequence[int] | None,
    ) -> Facts:
        """SELECT employee_id, COUNT(*) FROM kpi_missed_calls per indicator."""
        facts: Facts = {}
        for indicator in indicators:
            predicate = self._predicate(indicator, reading)
            for emp, count in (await queries.missed_counts(conn, predicate, employee_ids)).items():
                facts[(emp, indicator.code)] = Fact(value=count, records=count)
        return facts

    async def drill(
        self,
        conn: AsyncConnection,
        indicator: Indicator,
        reading: Reading,
        employee_id: int,
        *,
        after: After | None,
        limit: int,
    ) -> DrillRows:
        """The missed calls behind the count, highest id first."""
        predicate = self._predicate(indicator, reading)
        if reading.closed_at is not None:  # what the frozen fact counted: recorded before
            predicate.append(queries.missed_recorded_by(reading.closed_at))
        total = await queries.count_missed(conn, predicate, employee_id)
        rows = await queries.drill_missed(
            conn, predicate, employee_id, before_id=None if after is None else after.id, limit=limit
        )
        return DrillRows(total, rows)


# -- the client base --------------------------------------------------------------------


async def _drill_contacts(
    conn: AsyncConnection,
    predicate: Sequence[ColumnElement[bool]],
    indicator: Indicator,
    reading: Reading,
    employee_id: int,
    *,
    after: After | None,
    limit: int,
) -> DrillRows:
    as_of = reading.window.as_of
    total = await queries.count_contacts(conn, predicate, employee_id, as_of)
    rows = await queries.drill_contacts(
        conn,
        predicate,
        employee_id,
        as_of,
        indicator.fields,
        before_id=None if after is None else after.id,
        limit=limit,
    )
    return DrillRows(total, rows)


class ClientBaseQuality:
    """The share of required fields filled on an employee's clients, as of the period's end."""

    keyset = Keyset.ID

    async def facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        reading: Reading,
        employee_ids: Sequence[int] | None,
    ) -> Facts:
        """Per-owner counts of clients and filled fields from the deltas the store keeps
        (a few thousand rows), or a pass over the clients where it keeps none."""
        facts: Facts = {}
        as_of = reading.window.as_of
        for indicator in indicators:
            if await kept_as_deltas(conn, indicator, reading.kept):
                measures = [client_state.filled_measure(f) for f in indicator.fields]
                counts = await client_base.owner_counts(
                    conn, [client_state.CONTACTS, *measures], local_day(as_of, reading.tz), employee_ids
                )
                quality = {
                    emp: (c[client_state.CONTACTS], sum(c[m] for m in measures))
                    for emp, c in counts.items()
                }
            else:
                quality = await queries.contact_quality(conn, indicator.fields, as_of, employee_ids)
            slots = len(indicator.fields)
            for emp, (count, filled) in quality.items():
                if count:
                    share = 100.0 * filled / (count * slots)
                    facts[(emp, indicator.code)] = Fact(value=share, records=count)
        return facts

    async def drill(
        self,
        conn: AsyncConnection,
        indicator: Indicator,
        reading: Reading,
        employee_id: int,
        *,
        after: After | None,
        limit: int,
    ) -> DrillRows:
        """Every owned client with the required fields it lacks, highest id first."""
        return await _drill_contacts(
            conn, [], indicator, reading, employee_id, after=after, limit=limit
        )


class ForgottenClients:
    """An employee's clients with no touch for the indicator's `days`, as of the period's end."""

    keyset = Keyset.ID

    async def facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        reading: Reading,
        employee_ids: Sequence[int] | None,
    ) -> Facts:
        """Per-owner counts from the deltas the store keeps, or a pass over the clients."""
        facts: Facts = {}
        as_of = reading.window.as_of
        for indicator in indicators:
            if await kept_as_deltas(conn, indicator, reading.kept):
                measure = client_state.forgotten_measure(indicator.days)
                counts = await client_base.owner_counts(
                    conn, [measure], local_day(as_of, reading.tz), employee_ids
                )
                forgotten = {emp: c[measure] for emp, c in counts.items()}
            else:
                forgotten = await queries.forgotten_clients(
                    conn, indicator.days, as_of, reading.tz, employee_ids
                )
            for emp, count in forgotten.items():
                if count:
                    facts[(emp, indicator.code)] = Fact(value=count, records=count)
        return facts

    async def drill(
        self,
        conn: AsyncConnection,
        indicator: Indicator,
        reading: Reading,
        employee_id: int,
        *,
        after: After | None,
        limit: int,
    ) -> DrillRows:
        """The forgotten clients, highest id first: named by the owner's client states
        where the store keeps them (no probe per client), else found by a pass."""
        as_of = reading.window.as_of
        if not await kept_as_deltas(conn, indicator, reading.kept):
            predicate = queries.forgotten_predicate(indicator.days, as_of, reading.tz)
            return await _drill_contacts(
                conn, predicate, indicator, reading, employee_id, after=after, limit=limit
            )
        ids = await client_base.forgotten_ids(
            conn, employee_id, indicator.days, local_day(as_of, reading.tz)
        )
        page = [i for i in ids if after is None or i < after.id][:limit]
        rows = await queries.drill_contacts(
            conn,
            queries.contacts_among(page),
            employee_id,
            as_of,
            indicator.fields,
            before_id=None,
            limit=limit,
        )
        return DrillRows(len(ids), rows)


# -- choosing ---------------------------------------------------------------------------

ACTIVITY_ROLLUP = ActivityRollup()
ACTIVITY_SCAN = ActivityScan()
MISSED_CALLS = MissedCalls()
_CLIENT_BASE: dict[Aggregate, RecordSource] = {
    Aggregate.FILLED_SHARE: ClientBaseQuality(),
    Aggregate.FORGOTTEN: ForgottenClients(),
}


def source_of(indicator: Indicator) -> RecordSource:
    """The strategy that reads `indicator`."""
    if indicator.source is Source.CONTACTS:
        return _CLIENT_BASE[indicator.aggregate]
    if missed_rollup_filter(indicator) is not None:
        return MISSED_CALLS
    return ACTIVITY_ROLLUP if uses_rollup(indicator) else ACTIVITY_SCAN


async def compute(
    conn: AsyncConnection,
    indicators: Sequence[Indicator],
    reading: Reading,
    employee_ids: Sequence[int] | None,
) -> Facts:
    """Facts of `indicators` for the employees (None = all); absent means zero."""
    groups: dict[RecordSource, list[Indicator]] = {}
    for indicator in indicators:
        groups.setdefault(source_of(indicator), []).append(indicator)
    facts: Facts = {}
    for source, group in groups.items():
        facts.update(await source.facts(conn, group, reading, employee_ids))
    return facts
