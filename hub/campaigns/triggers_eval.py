"""Evaluating trigger rules: a scheduler job of the main process (`touchhub serve`).

Each `tick()` takes every enabled rule in turn: finds its new events (at most `limit`
per rule), records a firing per event (unique per rule and event: a second tick, a
second process or a restart records nothing new), and queues at most `limit` recorded
firings as recipients of the rule's campaign, which `CampaignRunner` sends. A rule that
fails (a query, a store error) is recorded with its error and the next rule goes on.
Rendering happens in the engine: a missing variable makes that recipient `failed` with
the template's message, never a blank letter.

SMS recipients are held until the quiet hours at their number end (`quiet_until`,
given by the runtime from `[sms] quiet_hours`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.activity import ActivityStore
from hub.activity.repos.triggers import Event, RuleRow, TriggerKind
from hub.model import Channel, utcnow

logger = logging.getLogger(__name__)

#: Events and firings handled per rule and tick: bounded work, the rest next tick.
TICK_LIMIT = 200
#: How far back a missed call is still looked at.
LOOKBACK = timedelta(days=2)

#: When an SMS to this number may go, if not now (quiet hours).
QuietUntil = Callable[[str, datetime], datetime | None]


@dataclass(slots=True)
class TickReport:
    """What one evaluation did."""

    rules: int = 0
    fired: int = 0
    queued: int = 0
    woken: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # rule name → error


@dataclass(slots=True)
class EvaluatorHealth:
    """The last run and its errors, for `touchhub health` and ``/api/v1/health``."""

    last_run_at: datetime | None = None
    last_error: str | None = None
    last: TickReport | None = None

    def as_dict(self) -> dict[str, Any]:
        last = self.last
        return {
            "last_run_at": None if self.last_run_at is None else self.last_run_at.isoformat(),
            "last_error": self.last_error,
            "rules": 0 if last is None else last.rules,
            "fired": 0 if last is None else last.fired,
            "queued": 0 if last is None else last.queued,
            "rule_errors": {} if last is None else dict(last.errors),
        }


def tomorrow(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    """Tomorrow in `tz` as a UTC [start, end) and its ISO date."""
    day = now.astimezone(tz).date() + timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end, day.isoformat()


class TriggerEvaluator:
    """Finds events, records firings and queues them, rule by rule."""

    def __init__(
        self,
        store: ActivityStore,
        *,
        limit: int = TICK_LIMIT,
        quiet_until: QuietUntil | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.repo = store.triggers
        self.limit = limit
        self.quiet_until = quiet_until
        self.clock = clock
        self.health = EvaluatorHealth()

    async def tick(self) -> TickReport:
        """Evaluate every enabled rule once; never raises for one rule's failure."""
        now = self.clock()
        report = TickReport()
        try:
            rules = await self.repo.list_all(enabled=True)
            for rule in rules:
                report.rules += 1
                error: str | None = None
                try:
                    fired, queued = await self._rule(rule, now)
                    report.fired += fired
                    report.queued += queued
                except Exception as exc:  # one rule's failure does not stop the others
                    error = f"{type(exc).__name__}: {exc}"
                    report.errors[rule.name] = error
                    logger.exception("trigger %s (%s) failed", rule.id, rule.name)
                try:
                    await self.repo.record_run(rule.id, now, error)
                except Exception as exc:
                    logger.warning("trigger %s: run not recorded: %s", rule.id, exc)
            report.woken = await self.repo.wake(now)
            self.health.last_error = None
        except Exception as exc:  # the store is away: the next tick tries again
            self.health.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("triggers: %s", exc)
        self.health.last_run_at = now
        self.health.last = report
        if report.fired or report.queued:
            logger.info("triggers: %d fired, %d queued", report.fired, report.queued)
        return report

    async def _rule(self, rule: RuleRow, now: datetime) -> tuple[int, int]:
        events = await self.events(rule, now)
        fired = await self.repo.record(rule.id, events, now)
        sending = utcnow()  # recipients are due now, whatever time the events are read at
        due_for = None
        if rule.channel == Channel.SMS.value and self.quiet_until is not None:
            quiet = self.quiet_until

            def due_for(number: str) -> datetime | None:
                return quiet(number, sending)

        queued = await self.repo.queue(rule, now=sending, limit=self.limit, due_for=due_for)
        return fired, queued

    async def events(self, rule: RuleRow, now: datetime) -> list[Event]:
        """The rule's events not fired yet (field changes are recorded at the write)."""
        kind = TriggerKind(rule.kind)
        params = rule.params
        if kind is TriggerKind.MISSED_CALL:
            wait = timedelta(minutes=int(params["minutes"]))
            since = max(rule.created_at - wait, now - LOOKBACK - wait)
            return await self.repo.missed_calls(
                rule, wait=wait, since=since, now=now, limit=self.limit
            )
        if kind is TriggerKind.DUE_TOMORROW:
            start, end, day = tomorrow(now, self.store.tz)
            return await self.repo.due_between(
                rule, start=start, end=end, day=day, limit=self.limit
            )
        if kind is TriggerKind.DATE_REACHED:
            key = str(params["field"]).removeprefix("custom.")
            today = now.astimezone(self.store.tz).date().isoformat()
            return await self.repo.date_reached(rule, key=key, day=today, limit=self.limit)
        return []
