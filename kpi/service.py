"""`KpiService`: the one async API over KPI for the CLI, the REST API and the dashboard.

Every call takes a `Viewer` and shows only what the hierarchy lets them see; every
result is a frozen value with `as_dict()`. Facts and drill-downs come from the strategy
of each indicator's source (`kpi.sources`), plans from `kpi.plans`, judgement from
`kpi.judgement`; closed months answer from frozen facts. Plans and month closes are
written by the store (`hub.activity.plans_store`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity import generation, plans_store
from hub.activity.cursor import EPOCH, decode_time_id, encode_time_id
from hub.activity.plans_store import FrozenFact, PlanRow
from hub.activity.rollups import client_base, client_state, rebuild
from hub.errors import Conflict, NotFound, PermissionDenied, ValidationError
from hub.model import utcnow
from kpi import queries, sources
from kpi.catalogue import Aggregate, Catalogue, Indicator, load_catalogue
from kpi.judgement import Colour, colour, direction, percent_of_plan, trend
from kpi.periods import Period, PeriodKind, WorkCalendar, local_day, parse_month
from kpi.plans import MonthPlan, plan_for_period, tolerated_so_far
from kpi.results import (
    ClosedMonth,
    DrillPage,
    Fact,
    KpiCell,
    KpiTable,
    Monitor,
    PlanChange,
    Rebuilt,
)
from kpi.settings import KpiSettings
from kpi.shared import SharedAnswers
from kpi.sources import Window, kept_as_deltas, zero
from kpi.span import Span, span_of
from kpi.viewer import Hierarchy, Role, Viewer

logger = logging.getLogger(__name__)

DEFAULT_PAGE = 50
MAX_PAGE = 500


class HasEngine(Protocol):
    """Anything that carries the store's engine (an `ActivityStore`)."""

    @property
    def engine(self) -> AsyncEngine: ...


def _engine(source: AsyncEngine | HasEngine) -> AsyncEngine:
    return source if isinstance(source, AsyncEngine) else source.engine


def _period(value: Period | str) -> Period:
    return value if isinstance(value, Period) else Period.parse(value)


#: Aggregates whose value over no records is undefined rather than zero.
_NO_VALUE_WHEN_EMPTY = frozenset({Aggregate.FILLED_SHARE, Aggregate.PER_CONTACT, Aggregate.AVERAGE})


class KpiService:
    """Facts, plans, judgement, drill-down, monitor and month close over one store."""

    def __init__(
        self,
        source: AsyncEngine | HasEngine,
        settings: KpiSettings | None = None,
        *,
        catalogue: Catalogue | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings or KpiSettings()
        self.engine = _engine(source)
        self.tz = ZoneInfo(self.settings.timezone)  # a known zone: `KpiSettings` checked it
        self.calendar = WorkCalendar.from_settings(self.settings.weekends, self.settings.holidays)
        self.catalogue = catalogue or load_catalogue(
            self.settings.indicators_file,
            required_fields=self.settings.required_contact_fields,
            forgotten_days=self.settings.forgotten_after_days,
        )
        self.clock = clock
        #: Tables by viewer, period, employee, indicators, store generation and local day.
        self.tables: SharedAnswers[KpiTable] = SharedAnswers()

    # -- helpers ------------------------------------------------------------------

    async def _hierarchy(self, conn: AsyncConnection) -> Hierarchy:
        return Hierarchy(await queries.all_employees(conn))

    def _indicators(self, codes: Sequence[str] | None) -> list[Indicator]:
        if codes is None:
            return list(self.catalogue.values())
        return [self.catalogue.get_or_raise(code) for code in codes]

    def _reading(
        self,
        period: Period,
        now: datetime,
        closed: Mapping[str, Any] | None = None,
        kept: client_state.Maintained | None = None,
    ) -> sources.Reading:
        return sources.Reading(
            window=Window.of(period, self.tz, now),
            tz=self.tz,
            closed_at=None if closed is None else closed["closed_at"],
            kept=kept,
        )

    def _frozen(
        self, stored: Mapping[tuple[int, str], tuple[float, int, float | None]], wanted: set[str]
    ) -> dict[tuple[int, str], Fact]:
        """Frozen facts of the `wanted` indicators, each stated as its indicator states it."""
        return {
            key: Fact(value=self.catalogue[key[1]].fact_value(value), records=n)
            for key, (value, n, _) in stored.items()
            if key[1] in wanted
        }

    async def _facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        period: Period,
        employee_ids: Sequence[int] | None,
        now: datetime,
        *,
        kept: client_state.Maintained | None = None,
        closed: bool | None = None,
    ) -> tuple[dict[tuple[int, str], Fact], dict[tuple[int, str], float | None] | None]:
        """Facts for a period: frozen ones for a closed month (with their plans), else live.
        `kept` (the client base the store keeps) and `closed` (whether the period is a
        closed month) save their reads when the caller knows them."""
        if closed is None:
            closed = period.kind is PeriodKind.MONTH and bool(
                await queries.closed_month(conn, period.key)
            )
        if closed:
            frozen = await queries.frozen_facts(conn, period.key, employee_ids)
            plans = {k: p for k, (_, _, p) in frozen.items()}
            return self._frozen(frozen, {i.code for i in indicators}), plans
        reading = self._reading(period, now, kept=kept)
        return await sources.compute(conn, indicators, reading, employee_ids), None

    async def _previous(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        span: Span,
        employee_ids: Sequence[int] | None,
        now: datetime,
        kept: client_state.Maintained | None = None,
    ) -> tuple[dict[tuple[int, str], Fact], set[str]]:
        """The facts the arrows compare with, and the indicators that have one.

        A flow (a count, a sum …) compares with the span of the previous period that
        matches the days judged (`span.previous`). A snapshot (client base) is a state, not
        an accumulation: it compares with the state at the previous period's end, which is
        known where that month was closed, or where the store keeps the indicator as daily
        deltas (any day's state is cheap)."""
        before = span.period.previous()
        flows = [i for i in indicators if not i.snapshot]
        snapshots = [i for i in indicators if i.snapshot]
        before_closed = before.kind is PeriodKind.MONTH and bool(
            await queries.closed_month(conn, before.key)
        )
        if snapshots and not before_closed:
            snapshots = [i for i in snapshots if await kept_as_deltas(conn, i, kept)]
        facts: dict[tuple[int, str], Fact] = {}
        for part, chosen in ((span.previous, flows), (before, snapshots)):
            if chosen:
                found, _ = await self._facts(
                    conn,
                    chosen,
                    part,
                    employee_ids,
                    now,
                    kept=kept,
                    closed=before_closed if part == before else None,
                )
                facts.update(found)
        return facts, {i.code for i in (*flows, *snapshots)}

    async def _plans(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        period: Period,
        employee_ids: Sequence[int],
        parts: Sequence[Period] = (),
    ) -> list[dict[tuple[int, str], float | None]]:
        """The plans of `period`, then of each of its `parts` (a running period's span)."""
        stored: dict[tuple[int, str], dict[str, MonthPlan]] = {}
        for row in await queries.plans_for(conn, [m.key for m in period.months()], employee_ids):
            stored.setdefault((row.employee_id, row.indicator), {})[row.month] = MonthPlan(
                row.value, row.per_day
            )
        answers: list[dict[tuple[int, str], float | None]] = []
        for part in (period, *parts):
            # Most cells have no stored plan: their plan (the default) is the same for everyone.
            unplanned = {
                ind.code: plan_for_period(ind, part, {}, self.calendar) for ind in indicators
            }
            answers.append(
                {
                    (emp, ind.code): (
                        plan_for_period(ind, part, stored[(emp, ind.code)], self.calendar)
                        if (emp, ind.code) in stored
                        else unplanned[ind.code]
                    )
                    for emp in employee_ids
                    for ind in indicators
                }
            )
        return answers

    def _cell(
        self,
        indicator: Indicator,
        employee: int,
        name: str,
        period: Period,
        fact: Fact,
        plans: tuple[float | None, float | None],
        previous: Fact | None,
        *,
        closed: bool,
        span: Span,
    ) -> KpiCell:
        # A share or average of nothing (no clients of one's own, no touches) is not 0 %:
        # shown as 0 but neither judged nor compared, so it never lands in "Critical".
        # A period that has not started has nothing to judge yet either, nor has a count
        # whose plan covers no working day yet (the 1st of a month falling on a Saturday).
        plan, period_plan = plans
        undefined = fact.records == 0 and indicator.aggregate in _NO_VALUE_WHEN_EMPTY
        idle = span.partial and span.working_days == 0 and indicator.additive
        judged = span.started and not undefined and not idle
        percent = (
            percent_of_plan(fact.value, plan, lower_is_better=indicator.lower_is_better)
            if judged
            else None
        )
        if undefined:
            previous = None
        return KpiCell(
            employee=employee,
            employee_name=name,
            indicator=indicator.code,
            title=indicator.title,
            unit=indicator.unit,
            period=period.key,
            fact=fact.value,
            records=fact.records,
            plan=plan,
            percent=percent,
            colour=colour(percent),
            trend=None
            if previous is None or not judged
            else trend(fact.value, previous.value, lower_is_better=indicator.lower_is_better),
            direction=None
            if previous is None or not judged
            else direction(fact.value, previous.value),
            previous=None if previous is None else previous.value,
            lower_is_better=indicator.lower_is_better,
            closed=closed,
            decimals=indicator.decimals,
            period_plan=period_plan,
        )

    async def _visible(
        self, conn: AsyncConnection, viewer: Viewer, employee: int
    ) -> Hierarchy:
        """The hierarchy, once `employee` is known to exist and be visible to `viewer`."""
        hierarchy = await self._hierarchy(conn)
        if employee not in hierarchy.by_id:
            raise NotFound(f"employee {employee} does not exist")
        hierarchy.require_visible(viewer, employee)
        return hierarchy

    # -- the table ----------------------------------------------------------------

    async def stamp(self, now: datetime) -> tuple[int, date] | None:
        """What every answer depends on besides its question: the store's generation
        and the local day of `now` (a running period is judged by the days elapsed).
        Answers keyed by it are never stale; None when the store keeps no generation."""
        async with self.engine.connect() as conn:
            found = await generation.current(conn)
        return None if found is None else (found, local_day(now, self.tz))

    async def table(
        self,
        viewer: Viewer,
        period: Period | str,
        employee: int | None = None,
        indicators: Sequence[str] | None = None,
        *,
        at: datetime | None = None,
    ) -> KpiTable:
        """Employees × indicators: fact, plan, %, colour and the arrow against the last period.

        Computed once per question and store generation (`stamp`), as of `at` (default
        now); concurrent identical questions share one computation."""
        period = _period(period)
        chosen = self._indicators(indicators)
        now = self.clock() if at is None else at
        stamp = await self.stamp(now)
        if stamp is None:
            return await self._table(viewer, period, employee, chosen, now)
        key = (viewer, period.key, employee, tuple(i.code for i in chosen), *stamp)
        return await self.tables.get(
            key, lambda: self._table(viewer, period, employee, chosen, now)
        )

    async def _table(
        self,
        viewer: Viewer,
        period: Period,
        employee: int | None,
        chosen: Sequence[Indicator],
        now: datetime,
    ) -> KpiTable:
        span = span_of(period, local_day(now, self.tz), self.calendar)
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            if employee is not None:
                hierarchy = await self._visible(conn, viewer, employee)
                ids = [employee]
            else:
                hierarchy = await self._hierarchy(conn)
                ids = [e for e in hierarchy.visible(viewer) if hierarchy.by_id[e].active]
            scope = None if viewer.role is Role.ADMIN and employee is None else ids
            closed = (
                await queries.closed_month(conn, period.key)
                if period.kind is PeriodKind.MONTH
                else None
            )
            # What the store keeps of the client base, read once for every period below.
            kept = await client_base.maintained(conn)
            current, frozen_plans = await self._facts(
                conn, chosen, period, scope, now, kept=kept, closed=closed is not None
            )
            previous, known_before = await self._previous(conn, chosen, span, scope, now, kept)
            period_plans, *partial = await self._plans(
                conn, chosen, period, ids, [span.judged] if span.partial else []
            )
        if frozen_plans is not None:  # a closed month: never running, judged whole
            period_plans = {k: frozen_plans.get(k) for k in period_plans}
        if partial:
            codes = {i.code: i for i in chosen}
            plans = {k: tolerated_so_far(codes[k[1]], p) for k, p in partial[0].items()}
        else:
            plans = period_plans
        cells = [
            self._cell(
                ind,
                emp,
                hierarchy.by_id[emp].name,
                period,
                current.get((emp, ind.code), zero(ind)),
                (plans.get((emp, ind.code)), period_plans.get((emp, ind.code))),
                previous.get((emp, ind.code), zero(ind)) if ind.code in known_before else None,
                closed=closed is not None,
                span=span,
            )
            for emp in ids
            for ind in chosen
        ]
        return KpiTable(
            period=period.key,
            previous_period=period.previous().key,
            closed=closed is not None,
            closed_at=None if closed is None else closed["closed_at"],
            started=span.started,
            span=span,
            indicators=tuple(i.code for i in chosen),
            employees=tuple((e, hierarchy.by_id[e].name) for e in ids),
            cells=tuple(cells),
        )

    # -- drill-down ---------------------------------------------------------------

    async def drill(
        self,
        viewer: Viewer,
        indicator: str,
        employee: int,
        period: Period | str,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> DrillPage:
        """The records one fact was counted from, last recorded first, `limit` at a time."""
        period = _period(period)
        ind = self.catalogue.get_or_raise(indicator)
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"page size {limit} is not within 1..{MAX_PAGE}", field="limit")
        source = sources.source_of(ind)
        # activity pages continue after (time, id); client and missed-call pages after an
        # id. Both are written "TIME.ID" (time 0 for the latter), so that every cursor of
        # the one pattern the API publishes is a position in any drill-down.
        by_time = source.keyset is sources.Keyset.TIME_ID
        after = None
        if cursor:
            at, row_id = decode_time_id(cursor)
            after = sources.After(row_id, at) if by_time else sources.After(row_id)
        now = self.clock()
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            await self._visible(conn, viewer, employee)
            closed = (
                await queries.closed_month(conn, period.key)
                if period.kind is PeriodKind.MONTH
                else None
            )
            frozen = None
            if closed is not None:
                stored = await queries.frozen_facts(conn, period.key, [employee])
                frozen = self._frozen(stored, {ind.code}).get((employee, ind.code), zero(ind)).value
            found = await source.drill(
                conn, ind, self._reading(period, now, closed), employee, after=after, limit=limit + 1
            )
        more = len(found.rows) > limit  # one row beyond the page says whether another exists
        items = found.rows[:limit]
        next_cursor = None
        if more:
            last = items[-1]
            next_cursor = (
                encode_time_id(last[ind.date] if by_time else EPOCH, last["id"])
            )
        return DrillPage(
            indicator=ind.code,
            employee=employee,
            period=period.key,
            kind=ind.source.value,
            total=found.total,
            items=tuple(items),
            next_cursor=next_cursor,
            closed=closed is not None,
            frozen_fact=frozen,
        )

    async def drill_count(
        self, viewer: Viewer, indicator: str, employee: int, period: Period | str
    ) -> int:
        """How many records the fact was counted from (the drill-down's total)."""
        page = await self.drill(viewer, indicator, employee, period, limit=1)
        return page.total

    # -- monitor ------------------------------------------------------------------

    async def monitor(
        self, viewer: Viewer, period: Period | str, *, at: datetime | None = None
    ) -> Monitor:
        """Subordinates × indicators grouped Critical (<50%), Important (50–79%), Info (≥80%)."""
        table = await self.table(viewer, period, at=at)
        own = viewer.employee_id if viewer.role is Role.HEAD else None
        cells = [c for c in table.cells if c.employee != own]
        return Monitor(
            period=table.period,
            closed=table.closed,
            started=table.started,
            span=table.span,
            critical=tuple(c for c in cells if c.colour is Colour.RED),
            important=tuple(c for c in cells if c.colour is Colour.YELLOW),
            information=tuple(c for c in cells if c.colour is Colour.GREEN),
            without_plan=tuple(c for c in cells if c.colour is None),
        )

    # -- plans --------------------------------------------------------------------

    async def set_plan(
        self,
        viewer: Viewer,
        indicator: str,
        month: str,
        value: float,
        *,
        employees: Sequence[int] = (),
        group: int | None = None,
        per_day: bool = False,
    ) -> list[PlanChange]:
        """Set a month's plan (or per-day norm) for employees and/or everyone under `group`."""
        ind = self.catalogue.get_or_raise(indicator)
        period = parse_month(month)
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValidationError(
                f"plan {value!r} for {indicator}: a plan must be a number ≥ 0", field="value"
            )
        if ind.unit == "%" and value > 100:
            raise ValidationError(
                f"plan {value:g} for {indicator}: a share is at most 100 %", field="value"
            )
        if per_day and not ind.additive:
            raise ValidationError(
                f"{indicator} is not a count, so it takes a monthly plan, not a per-day norm",
                field="per_day",
            )
        if not employees and group is None:
            raise ValidationError("name at least one employee or a group", field="employee")
        now = self.clock()
        set_by = (
            viewer.role.value
            if viewer.employee_id is None
            else f"{viewer.role.value}:{viewer.employee_id}"
        )
        async with self.engine.connect() as conn:
            hierarchy = await self._hierarchy(conn)
        targets: list[int] = []
        for emp in employees:
            if emp not in hierarchy.by_id:
                raise NotFound(f"employee {emp} does not exist")
            targets.append(emp)
        if group is not None:
            if group not in hierarchy.by_id:
                raise NotFound(f"employee {group} (group head) does not exist")
            members = hierarchy.subordinates(group)
            if not members:
                raise Conflict(f"employee {group} has nobody below them", field="group")
            targets.extend(members)
        targets = list(dict.fromkeys(targets))
        for emp in targets:
            hierarchy.require_planner(viewer, emp)
        rows = [
            PlanRow(emp, ind.code, period.key, float(value), per_day, set_by, now)
            for emp in targets
        ]
        replaced = await plans_store.save_plans(self.engine, rows)
        return [
            PlanChange(
                employee=row.employee_id,
                indicator=row.indicator,
                month=row.month,
                value=row.value,
                per_day=row.per_day,
                previous=None if old is None else old.value,
                previous_per_day=None if old is None else old.per_day,
                set_by=set_by,
                set_at=now,
            )
            for row, old in zip(rows, replaced, strict=True)
        ]

    async def plan_history(
        self, viewer: Viewer, employee: int, indicator: str | None = None
    ) -> list[dict[str, Any]]:
        """Every change to an employee's plans, oldest first."""
        if indicator is not None:
            self.catalogue.get_or_raise(indicator)
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            hierarchy = await self._hierarchy(conn)
            if employee not in hierarchy.by_id:
                raise NotFound(f"employee {employee} does not exist")
            hierarchy.require_visible(viewer, employee)
            return await queries.plan_history(conn, employee, indicator)

    # -- month close and maintenance ----------------------------------------------

    async def close_month(self, viewer: Viewer, month: str, *, again: bool = False) -> ClosedMonth:
        """Freeze a finished month's facts and plans; later activity changes don't move them."""
        if viewer.role is not Role.ADMIN:
            raise PermissionDenied("only an admin may close a month")
        period = parse_month(month)
        now = self.clock()
        if period.end > local_day(now, self.tz):
            raise Conflict(f"month {period.key} has not ended yet", field="month")
        indicators = list(self.catalogue.values())
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            hierarchy = await self._hierarchy(conn)
            ids = sorted(hierarchy.by_id)
            values = await sources.compute(conn, indicators, self._reading(period, now), None)
            (plans,) = await self._plans(conn, indicators, period, ids)
        frozen = [
            FrozenFact(
                employee_id=emp,
                indicator=ind.code,
                fact=float(fact.value),
                records=fact.records,
                plan=plans.get((emp, ind.code)),
            )
            for emp in ids
            for ind in indicators
            for fact in (values.get((emp, ind.code), zero(ind)),)
        ]
        closed_by = (
            viewer.role.value if viewer.employee_id is None else f"admin:{viewer.employee_id}"
        )
        await plans_store.freeze_month(
            self.engine, period.key, now, closed_by, frozen, again=again
        )
        logger.info("closed KPI month %s: %d facts frozen", period.key, len(frozen))
        return ClosedMonth(month=period.key, closed_at=now, closed_by=closed_by, facts=len(frozen))

    async def rebuild(
        self, viewer: Viewer, on_step: Callable[[str], None] | None = None
    ) -> Rebuilt:
        """Recompute the roll-ups and the client-base deltas from the activities and
        contacts (after a restore, a bulk load, or a new forgotten period in the catalogue).

        One transaction: readers see the old numbers until it commits. `on_step` hears
        which part starts (each takes minutes at 10M activities)."""
        if viewer.role is not Role.ADMIN:
            raise PermissionDenied("only an admin may rebuild roll-ups")
        days = {ind.days for ind in self.catalogue.values() if ind.aggregate is Aggregate.FORGOTTEN}
        step = on_step or (lambda _: None)
        async with self.engine.begin() as conn:
            step("roll-ups")
            rows = await rebuild.rebuild(conn, self.tz)
            step("client base")
            clients = await client_base.rebuild(conn, self.tz, days or None)
            kept = await client_base.maintained(conn)
            await generation.bump(conn)
        return Rebuilt(rollup_rows=rows, clients=clients, forgotten_days=kept.forgotten_days)

    @staticmethod
    def catalogue_of(settings: KpiSettings) -> list[dict[str, Any]]:
        """The catalogue the settings describe, as plain data (no store needed)."""
        catalogue = load_catalogue(
            settings.indicators_file,
            required_fields=settings.required_contact_fields,
            forgotten_days=settings.forgotten_after_days,
        )
        return [i.as_dict() for i in catalogue.values()]

    async def viewer_as(self, employee: int) -> Viewer:
        """How `employee` sees KPI: as a head if anyone reports to them, else as themselves."""
        async with self.engine.connect() as conn:
            hierarchy = await self._hierarchy(conn)
        if employee not in hierarchy.by_id:
            raise NotFound(f"employee {employee} does not exist")
        role = Role.HEAD if hierarchy.subordinates(employee) else Role.EMPLOYEE
        return Viewer(role, employee)

    def current_month(self) -> Period:
        """The month running now in the company's time zone."""
        return Period.current(PeriodKind.MONTH, self.clock(), self.tz)

    def indicators(self) -> list[dict[str, Any]]:
        """The catalogue as plain data."""
        return [i.as_dict() for i in self.catalogue.values()]

    async def heads(self, viewer: Viewer) -> dict[int, str | None]:
        """The name of each visible employee's head (None for someone nobody is over)."""
        async with self.engine.connect() as conn:
            hierarchy = await self._hierarchy(conn)
        by_id = hierarchy.by_id
        return {
            e: (
                by_id[head].name
                if (head := by_id[e].head_id) is not None and head in by_id
                else None
            )
            for e in hierarchy.visible(viewer)
        }

    async def employees(self, viewer: Viewer) -> list[tuple[int, str]]:
        """The employees `viewer` may see, as (id, name)."""
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            hierarchy = await self._hierarchy(conn)
        return [(e, hierarchy.by_id[e].name) for e in hierarchy.visible(viewer)]
