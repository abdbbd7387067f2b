"""What a period's judgement covers: the elapsed part of a running period, and the same
span of the period before it for the arrows.

While a period runs, its facts are month-to-date (or week-, quarter-to-date), so they
are judged against the plan for the days elapsed and compared with the same days of the
previous period: on 6 December, 1–6 December against 1–6 November. The span includes
today, as the facts do. The previous span is cut at that period's end (on 30 March,
1–30 March against the whole of February), and on a period's last day the whole
previous period is the comparison (its closed-month numbers, when it was closed). A
period that has ended, or has not begun, is taken whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kpi.periods import Period, WorkCalendar


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """The part of `period` that is judged and the part of the period before it that the
    arrows compare with; `working_days` of `working_days_total` have elapsed."""

    period: Period
    judged: Period
    previous: Period
    started: bool
    running: bool
    working_days: int
    working_days_total: int

    @property
    def partial(self) -> bool:
        """Whether only part of the period is judged (a running period before its last day)."""
        return self.judged != self.period

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "running": self.running,
            "partial": self.partial,
            "first_day": self.judged.start.isoformat(),
            "last_day": self.judged.last_day.isoformat(),
            "working_days": self.working_days,
            "working_days_total": self.working_days_total,
            "previous_first_day": self.previous.start.isoformat(),
            "previous_last_day": self.previous.last_day.isoformat(),
        }


def span_of(period: Period, today: date, calendar: WorkCalendar) -> Span:
    """The span judged on local `today`, and the previous period's span of the same days."""
    before = period.previous()
    running = period.start <= today < period.end
    judged, previous = period, before
    if running and today < period.last_day:
        elapsed_end = today + timedelta(days=1)
        judged = Period.span(period.start, elapsed_end)
        same_end = before.start + (elapsed_end - period.start)
        if same_end < before.end:
            previous = Period.span(before.start, same_end)
    return Span(
        period=period,
        judged=judged,
        previous=previous,
        started=period.start <= today,
        running=running,
        working_days=calendar.working_days(judged.start, judged.end),
        working_days_total=calendar.working_days(period.start, period.end),
    )
