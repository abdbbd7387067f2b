"""`KpiService`: the one async API over KPI for the CLI, the REST API and the dashboard.

Every call takes a `Viewer` and shows only what the hierarchy lets them see; every
result is a frozen value with `as_dict()`. Facts come from `kpi.facts`, plans from
`kpi.plans`, judgement from `kpi.judgement`; closed months answer from frozen facts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity.cursor import decode_id, decode_time_id, encode_id, encode_time_id
from hub.activity.rollups import client_base, rebuild
from hub.errors import ConfigError, NotFound, PermissionDenied, ValidationError
from hub.model import utcnow
from kpi import facts as fact_engine
from kpi import queries
from kpi.catalogue import Aggregate, Catalogue, Indicator, Source, load_catalogue
from kpi.judgement import Colour, colour, percent_of_plan, trend
from kpi.periods import Period, PeriodKind, WorkCalendar, local_day, parse_month
from kpi.plans import MonthPlan, plan_for_period
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
        try:
            self.tz = ZoneInfo(self.settings.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"kpi.timezone: unknown time zone {self.settings.timezone!r}"
            ) from exc
        self.calendar = WorkCalendar.from_settings(self.settings.weekends, self.settings.holidays)
        self.catalogue = catalogue or load_catalogue(
            self.settings.indicators_file,
            required_fields=self.settings.required_contact_fields,
            forgotten_days=self.settings.forgotten_after_days,
        )
        self.clock = clock

    # -- helpers ------------------------------------------------------------------

    async def _hierarchy(self, conn: AsyncConnection) -> Hierarchy:
        return Hierarchy(await queries.all_employees(conn))

    def _indicators(self, codes: Sequence[str] | None) -> list[Indicator]:
        if codes is None:
            return list(self.catalogue.values())
        return [self.catalogue.get_or_raise(code) for code in codes]

    async def _facts(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        period: Period,
        employee_ids: Sequence[int] | None,
        now: datetime,
    ) -> tuple[dict[tuple[int, str], Fact], dict[tuple[int, str], float | None] | None]:
        """Facts for a period: frozen ones for a closed month (with their plans), else live."""
        if period.kind is PeriodKind.MONTH and await queries.closed_month(conn, period.key):
            frozen = await queries.frozen_facts(conn, period.key, employee_ids)
            wanted = {i.code for i in indicators}
            values = {
                k: Fact(value=v, records=n) for k, (v, n, _) in frozen.items() if k[1] in wanted
            }
            return values, {k: p for k, (_, _, p) in frozen.items()}
        window = fact_engine.Window.of(period, self.tz, now)
        return await fact_engine.compute(conn, indicators, window, self.tz, employee_ids), None

    async def _plans(
        self,
        conn: AsyncConnection,
        indicators: Sequence[Indicator],
        period: Period,
        employee_ids: Sequence[int],
    ) -> dict[tuple[int, str], float | None]:
        stored: dict[tuple[int, str], dict[str, MonthPlan]] = {}
        for row in await queries.plans_for(conn, [m.key for m in period.months()], employee_ids):
            stored.setdefault((row.employee_id, row.indicator), {})[row.month] = MonthPlan(
                row.value, row.per_day
            )
        # Most cells have no stored plan: their plan (the default) is the same for everyone.
        unplanned = {
            ind.code: plan_for_period(ind, period, {}, self.calendar) for ind in indicators
        }
        return {
            (emp, ind.code): (
                plan_for_period(ind, period, stored[(emp, ind.code)], self.calendar)
                if (emp, ind.code) in stored
                else unplanned[ind.code]
            )
            for emp in employee_ids
            for ind in indicators
        }

    def _cell(
        self,
        indicator: Indicator,
        employee: int,
        name: str,
        period: Period,
        fact: Fact,
        plan: float | None,
        previous: Fact | None,
        closed: bool,
    ) -> KpiCell:
        # A share or average of nothing (no clients of one's own, no touches) is not 0 %:
        # shown as 0 but neither judged nor compared, so it never lands in "Critical".
        undefined = fact.records == 0 and indicator.aggregate in _NO_VALUE_WHEN_EMPTY
        percent = (
            None
            if undefined
            else percent_of_plan(fact.value, plan, lower_is_better=indicator.lower_is_better)
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
            if previous is None
            else trend(fact.value, previous.value, lower_is_better=indicator.lower_is_better),
            previous=None if previous is None else previous.value,
            lower_is_better=indicator.lower_is_better,
            closed=closed,
            decimals=indicator.decimals,
        )

    # -- the table ----------------------------------------------------------------

    async def table(
        self,
        viewer: Viewer,
        period: Period | str,
        employee: int | None = None,
        indicators: Sequence[str] | None = None,
    ) -> KpiTable:
        """Employees × indicators: fact, plan, %, colour and the arrow against the last period."""
        period = _period(period)
        chosen = self._indicators(indicators)
        now = self.clock()
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            hierarchy = await self._hierarchy(conn)
            if employee is not None:
                if employee not in hierarchy.by_id:
                    raise NotFound(f"employee {employee} does not exist")
                hierarchy.require_visible(viewer, employee)
                ids = [employee]
            else:
                ids = [e for e in hierarchy.visible(viewer) if hierarchy.by_id[e].active]
            scope = None if viewer.role is Role.ADMIN and employee is None else ids
            closed = (
                await queries.closed_month(conn, period.key)
                if period.kind is PeriodKind.MONTH
                else None
            )
            current, frozen_plans = await self._facts(conn, chosen, period, scope, now)
            previous, _ = await self._facts(
                conn, [i for i in chosen if not i.snapshot], period.previous(), scope, now
            )
            # A snapshot's past state is known where that month was closed, or where the
            # store keeps the indicator as daily deltas (any day's state is a cheap read).
            prev = period.previous()
            snapshots = [i for i in chosen if i.snapshot]
            known_before: set[str] = set()
            if (
                snapshots
                and prev.kind is PeriodKind.MONTH
                and await queries.closed_month(conn, prev.key)
            ):
                frozen = await queries.frozen_facts(conn, prev.key, scope)
                known_before = {i.code for i in snapshots}
                previous.update(
                    {
                        k: Fact(value=v, records=n)
                        for k, (v, n, _) in frozen.items()
                        if k[1] in known_before
                    }
                )
            elif snapshots:
                kept = [i for i in snapshots if await fact_engine.kept_as_deltas(conn, i)]
                if kept:
                    before, _ = await self._facts(conn, kept, prev, scope, now)
                    previous.update(before)
                    known_before = {i.code for i in kept}
            plans = await self._plans(conn, chosen, period, ids)
        if frozen_plans is not None:
            plans = {k: frozen_plans.get(k) for k in plans}
        cells = [
            self._cell(
                ind,
                emp,
                hierarchy.by_id[emp].name,
                period,
                current.get((emp, ind.code), fact_engine.zero()),
                plans.get((emp, ind.code)),
                None
                if ind.snapshot and ind.code not in known_before
                else previous.get((emp, ind.code), fact_engine.zero()),
                closed is not None,
            )
            for emp in ids
            for ind in chosen
        ]
        return KpiTable(
            period=period.key,
            previous_period=period.previous().key,
            closed=closed is not None,
            closed_at=None if closed is None else closed["closed_at"],
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
        # activity pages continue after (time, id); client and missed-call pages after an id
        activity_kind = (
            ind.source is Source.ACTIVITIES and fact_engine.missed_rollup_filter(ind) is None
        )
        before = decode_id(cursor) if cursor and not activity_kind else None
        after = decode_time_id(cursor) if cursor and activity_kind else None
        window = fact_engine.Window.of(period, self.tz, self.clock())
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            hierarchy = await self._hierarchy(conn)
            if employee not in hierarchy.by_id:
                raise NotFound(f"employee {employee} does not exist")
            hierarchy.require_visible(viewer, employee)
            closed = (
                await queries.closed_month(conn, period.key)
                if period.kind is PeriodKind.MONTH
                else None
            )
            frozen = None
            if closed is not None:
                found = (await queries.frozen_facts(conn, period.key, [employee])).get(
                    (employee, ind.code)
                )
                frozen = found[0] if found else 0.0
            if ind.aggregate is Aggregate.FORGOTTEN and await fact_engine.kept_as_deltas(conn, ind):
                ids = await client_base.forgotten_ids(
                    conn, employee, ind.days, local_day(window.as_of, self.tz)
                )
                total = len(ids)
                page = [i for i in ids if before is None or i < before][: limit + 1]
                items = await queries.drill_contacts(
                    conn,
                    queries.contacts_among(page),
                    employee,
                    window.as_of,
                    ind.fields,
                    before_id=None,
                    limit=limit + 1,
                )
            elif ind.source is Source.CONTACTS:
                predicate = queries.contact_predicate(
                    ind.aggregate.value, ind.fields, ind.days, window.as_of, self.tz
                )
                total = await queries.count_contacts(conn, predicate, employee, window.as_of)
                items = await queries.drill_contacts(
                    conn,
                    predicate,
                    employee,
                    window.as_of,
                    ind.fields,
                    before_id=before,
                    limit=limit + 1,
                )
            elif (missed := fact_engine.missed_rollup_filter(ind)) is not None:
                predicate = queries.missed_predicate(*missed, period.start, period.end)
                if closed is not None:  # what the frozen fact counted: recorded before
                    predicate.append(queries.missed_recorded_by(closed["closed_at"]))
                total = await queries.count_missed(conn, predicate, employee)
                items = await queries.drill_missed(
                    conn, predicate, employee, before_id=before, limit=limit + 1
                )
            else:
                predicate = queries.activity_predicate(
                    ind.counted, ind.date, window.start, window.end, window.today_start
                )
                if closed is not None:  # what the frozen fact counted: recorded before
                    predicate.append(queries.recorded_by(closed["closed_at"]))
                if closed is None and fact_engine.uses_rollup(ind):  # the fact's own count
                    facts = await fact_engine.compute(conn, [ind], window, self.tz, [employee])
                    total = facts.get((employee, ind.code), fact_engine.zero()).records
                else:
                    total = await queries.count_activities(conn, predicate, employee)
                items = await queries.drill_activities(
                    conn, predicate, employee, ind.date, after=after, limit=limit + 1
                )
        more = len(items) > limit  # one row beyond the page says whether another exists
        items = items[:limit]
        next_cursor = None
        if more:
            last = items[-1]
            next_cursor = (
                encode_time_id(last[ind.date], last["id"]) if activity_kind else encode_id(last["id"])
            )
        return DrillPage(
            indicator=ind.code,
            employee=employee,
            period=period.key,
            kind=ind.source.value,
            total=total,
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

    async def monitor(self, viewer: Viewer, period: Period | str) -> Monitor:
        """Subordinates × indicators grouped Critical (<50%), Important (50–79%), Info (≥80%)."""
        table = await self.table(viewer, period)
        own = viewer.employee_id if viewer.role is Role.HEAD else None
        cells = [c for c in table.cells if c.employee != own]
        return Monitor(
            period=table.period,
            closed=table.closed,
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
        async with self.engine.begin() as conn:
            if await queries.closed_month(conn, period.key):
                raise ValidationError(
                    f"month {period.key} is closed; its plans are frozen", field="month"
                )
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
                    raise ValidationError(f"employee {group} has nobody below them", field="group")
                targets.extend(members)
            targets = list(dict.fromkeys(targets))
            for emp in targets:
                hierarchy.require_planner(viewer, emp)
            changes: list[PlanChange] = []
            for emp in targets:
                row = queries.PlanRow(emp, ind.code, period.key, float(value), per_day, set_by, now)
                old = await queries.save_plan(conn, row)
                changes.append(
                    PlanChange(
                        employee=emp,
                        indicator=ind.code,
                        month=period.key,
                        value=float(value),
                        per_day=per_day,
                        previous=None if old is None else old.value,
                        previous_per_day=None if old is None else old.per_day,
                        set_by=set_by,
                        set_at=now,
                    )
                )
        return changes

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
            raise ValidationError(f"month {period.key} has not ended yet", field="month")
        indicators = list(self.catalogue.values())
        async with self.engine.begin() as conn:
            await queries.tune_for_reads(conn)
            if await queries.closed_month(conn, period.key) and not again:
                raise ValidationError(f"month {period.key} is already closed", field="month")
            hierarchy = await self._hierarchy(conn)
            ids = sorted(hierarchy.by_id)
            window = fact_engine.Window.of(period, self.tz, now)
            values = await fact_engine.compute(conn, indicators, window, self.tz, None)
            plans = await self._plans(conn, indicators, period, ids)
            rows = []
            for emp in ids:
                for ind in indicators:
                    fact = values.get((emp, ind.code), fact_engine.zero())
                    rows.append(
                        {
                            "employee_id": emp,
                            "indicator": ind.code,
                            "fact": fact.value,
                            "records": fact.records,
                            "plan": plans.get((emp, ind.code)),
                        }
                    )
            closed_by = (
                viewer.role.value if viewer.employee_id is None else f"admin:{viewer.employee_id}"
            )
            await queries.freeze_month(conn, period.key, now, closed_by, rows)
        logger.info("closed KPI month %s: %d facts frozen", period.key, len(rows))
        return ClosedMonth(month=period.key, closed_at=now, closed_by=closed_by, facts=len(rows))

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

    def current_month(self) -> Period:
        """The month running now in the company's time zone."""
        return Period.current(PeriodKind.MONTH, self.clock(), self.tz)

    def indicators(self) -> list[dict[str, Any]]:
        """The catalogue as plain data."""
        return [i.as_dict() for i in self.catalogue.values()]

    async def employees(self, viewer: Viewer) -> list[tuple[int, str]]:
        """The employees `viewer` may see, as (id, name)."""
        async with self.engine.connect() as conn:
            await queries.tune_for_reads(conn)
            hierarchy = await self._hierarchy(conn)
        return [(e, hierarchy.by_id[e].name) for e in hierarchy.visible(viewer)]
