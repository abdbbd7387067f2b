"""What changed rows do to the KPI roll-ups, summed in Python before anything is written.

`KpiDeltas.add(row, ±1)` for every row removed and added by a transaction; `adjust.py`
then writes the sums with one upsert per table. No SQL here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.activity.rollups.localtime import LocalDays, aware
from hub.activity.rollups.rules import (
    completed_callback_for,
    has_result,
    is_answered_call,
    is_late,
    is_missed_call,
    is_touch,
)
from hub.activity.rollups.tables import DAILY_KEY, MONTHLY_KEY, NO_EMPLOYEE

#: (n, duration_s, talk_s) summed for one roll-up key.
Sums = list[float]


class KpiDeltas:
    """Every roll-up change of one adjustment, aggregated in Python."""

    def __init__(self, tz: ZoneInfo, *, matching: bool) -> None:
        self.tz = tz
        self.local = LocalDays(tz)
        #: whether removed rows are part of this change (so removals must be matched)
        self.matching = matching
        #: (basis, day, dims) -> [n, duration, talk]; months are summed from days at the end
        self.daily: dict[tuple[str, date, tuple[Any, ...]], Sums] = defaultdict(
            lambda: [0, 0.0, 0.0]
        )
        self.contact_month: Counter[tuple[str, int, int]] = Counter()
        # (contact, month) -> [n, first, last] of added touches
        self.touch_added: dict[tuple[int, str], list[Any]] = {}
        self.touch_net: Counter[tuple[int, str]] = Counter()
        self.touch_instants: Counter[tuple[int, str, datetime]] = Counter()
        self.missed_added: dict[int, dict[str, Any]] = {}
        self.missed_removed: set[int] = set()
        self.answered_added: dict[int, datetime] = {}
        self.answered_instants: Counter[tuple[int, int, datetime]] = Counter()
        self.callback_calls: set[int] = set()

    @classmethod
    def of(
        cls,
        removed: Sequence[Mapping[str, Any]],
        added: Sequence[Mapping[str, Any]],
        tz: ZoneInfo,
    ) -> KpiDeltas:
        """The deltas of rows going from `removed` to `added`."""
        deltas = cls(tz, matching=bool(removed))
        for row in removed:
            deltas.add(row, -1)
        for row in added:
            deltas.add(row, 1)
        return deltas

    def add(self, row: Mapping[str, Any], sign: int) -> None:
        """Count one row in (+1) or out (-1)."""
        employee = row.get("employee_id") or NO_EMPLOYEE
        channel, direction, status = row["channel"], row["direction"], row["status"]
        is_client = bool(row["is_client"])
        result_flag = has_result(row.get("result"))
        completed, due = row.get("completed_at"), row.get("due_at")
        late = is_late(completed, due)
        duration = float(row.get("duration_s") or 0.0) * sign
        talk = float(row.get("talk_s") or 0.0) * sign
        occurred: datetime = row["occurred_at"]
        occurred_day = self.local.day(occurred)
        dims = (employee, channel, direction, status, is_client, result_flag, late)
        daily = self.daily
        for basis, instant in (("o", occurred), ("c", completed), ("d", due)):
            if instant is None:
                continue
            acc = daily[(basis, occurred_day if basis == "o" else self.local.day(instant), dims)]
            acc[0] += sign
            acc[1] += duration
            acc[2] += talk
        contact = row.get("contact_id")
        month = self.local.month(occurred_day)
        if contact is not None and is_touch(channel, direction, status, is_client):
            self.contact_month[(month, employee, contact)] += sign
            if self.matching:
                self.touch_instants[(contact, month, aware(occurred))] += sign
            self.touch_net[(contact, month)] += sign
            if sign > 0:
                acc2 = self.touch_added.get((contact, month))
                if acc2 is None:
                    self.touch_added[(contact, month)] = [1, occurred, occurred]
                else:
                    acc2[0] += 1
                    acc2[1] = min(acc2[1], occurred)
                    acc2[2] = max(acc2[2], occurred)
        activity_id = row.get("id")
        if activity_id is not None and is_missed_call(row):
            if sign > 0:
                self.missed_added[int(activity_id)] = {
                    "activity_id": int(activity_id),
                    "employee_id": employee,
                    "day": occurred_day,
                    "contact_id": contact,
                    "occurred_at": occurred,
                    "status": status,
                    "is_client": is_client,
                    "task_done": False,
                    "answered_later": False,
                }
            else:
                self.missed_removed.add(int(activity_id))
        if contact is not None and is_answered_call(row):
            if self.matching:
                key = (int(row.get("id") or 0), contact, aware(occurred))
                self.answered_instants[key] += sign
            if sign > 0:
                known = self.answered_added.get(contact)
                if known is None or occurred > known:
                    self.answered_added[contact] = occurred
        # only a completed callback task calls its missed call back
        call = completed_callback_for(row)
        if call is not None:
            self.callback_calls.add(call)

    def count_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The daily and monthly count rows to add (keys with nothing to add left out)."""
        daily: dict[tuple[Any, ...], Sums] = {}
        monthly: dict[tuple[Any, ...], Sums] = defaultdict(lambda: [0, 0.0, 0.0])
        for (basis, day, dims), acc in self.daily.items():
            daily[(basis, day, *dims)] = acc
            macc = monthly[(basis, self.local.month(day), *dims)]
            macc[0] += acc[0]
            macc[1] += acc[1]
            macc[2] += acc[2]
        return _rows(daily, DAILY_KEY), _rows(monthly, MONTHLY_KEY)

    def lost_touch_months(self) -> list[tuple[int, str]]:
        """Client-months where a touch went away (not merely re-recorded unchanged): their
        first or last touch may have gone with it."""
        return sorted({(c, m) for (c, m, _), n in self.touch_instants.items() if n < 0})

    def lost_answered_contacts(self) -> list[int]:
        """Clients whose answered call went away (their missed calls are judged anew)."""
        return sorted(
            {c for (_, c, _), n in self.answered_instants.items() if n < 0 and c is not None}
        )


def _rows(deltas: dict[tuple[Any, ...], Sums], names: Sequence[str]) -> list[dict[str, Any]]:
    return [
        dict(zip(names, key, strict=True), n=int(acc[0]), duration_s=acc[1], talk_s=acc[2])
        for key, acc in sorted(deltas.items())
        if acc[0] or acc[1] or acc[2]
    ]
