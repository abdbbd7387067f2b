"""Periods, local-day bucketing across DST, and the working calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hub.activity.rollups.localtime import day_of, offset_intervals
from hub.errors import ValidationError
from kpi.periods import Period, PeriodKind, WorkCalendar, parse_month

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2026-10-05", PeriodKind.DAY, date(2026, 10, 5), date(2026, 10, 6)),
        ("2026-W41", PeriodKind.WEEK, date(2026, 10, 5), date(2026, 10, 12)),
        ("2026-10", PeriodKind.MONTH, date(2026, 10, 1), date(2026, 11, 1)),
        ("2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-Q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2027, 1, 1)),
        ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1)),
    ],
)
def test_parse_and_key_round_trip(text: str, kind: PeriodKind, start: date, end: date) -> None:
    period = Period.parse(text)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert period.key == text
    assert period.previous().end == period.start and period.next().start == period.end


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-02-30", "2026-W54", "2026-Q5", "Oct 2026", "", "26-10"]
)
def test_malformed_periods_name_the_input(bad: str) -> None:
    with pytest.raises(ValidationError, match="period") as info:
        Period.parse(bad)
    assert info.value.field == "period"


def test_parse_month_refuses_other_kinds() -> None:
    with pytest.raises(ValidationError, match="a month"):
        parse_month("2026-Q4")


def test_month_bounds_are_local_midnights() -> None:
    start, end = Period.parse("2026-10").utc_bounds(MSK)
    assert start == datetime(2026, 9, 30, 21, tzinfo=UTC) and end == datetime(
        2026, 10, 31, 21, tzinfo=UTC
    )
    # 23:30 Moscow on the 31st is still October
    assert start <= datetime(2026, 10, 31, 20, 30, tzinfo=UTC) < end


def test_dst_month_and_day_bounds() -> None:
    # Berlin leaves summer time on 2026-10-25: that day has 25 hours.
    day = Period.parse("2026-10-25")
    start, end = day.utc_bounds(BERLIN)
    assert (end - start).total_seconds() == 25 * 3600
    october = Period.parse("2026-10").utc_bounds(BERLIN)
    assert october == (
        datetime(2026, 9, 30, 22, tzinfo=UTC),
        datetime(2026, 10, 31, 23, tzinfo=UTC),
    )
    march = Period.parse("2026-03-29").utc_bounds(BERLIN)  # 23 hours
    assert (march[1] - march[0]).total_seconds() == 23 * 3600


def test_offset_intervals_match_zoneinfo_days() -> None:
    intervals = offset_intervals(
        BERLIN, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert [off for _, off in intervals] == [3600, 7200, 3600]
    boundary = intervals[0][0]
    assert boundary == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert day_of(datetime(2026, 10, 24, 22, 30, tzinfo=UTC), BERLIN) == date(2026, 10, 25)
    assert day_of(datetime(2026, 10, 25, 22, 30, tzinfo=UTC), BERLIN) == date(2026, 10, 25)


def test_months_of_a_week_across_a_month_end() -> None:
    week = Period.parse("2026-W44")  # Oct 26 – Nov 1
    assert [m.key for m in week.months()] == ["2026-10", "2026-11"]
    assert [m.key for m in Period.parse("2026-Q4").months()] == ["2026-10", "2026-11", "2026-12"]


def test_working_calendar() -> None:
    calendar = WorkCalendar.from_settings([5, 6], ["2026-11-04"])
    assert calendar.working_days(date(2026, 11, 1), date(2026, 12, 1)) == 20
    assert not calendar.is_working(date(2026, 11, 4)) and calendar.is_working(date(2026, 11, 5))
    with pytest.raises(ValidationError, match="holiday"):
        WorkCalendar.from_settings([5, 6], ["4 Nov"])
    with pytest.raises(ValidationError, match="weekend"):
        WorkCalendar.from_settings([7], [])
