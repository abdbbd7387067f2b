"""Call rounds [обзвоны]: a campaign whose channel is the telephone (decision 0052).

create (checked: name, template, segment, employees, working hours, retries) → start:
the segment's contacts with a phone become call items spread over the chosen employees
(by the contact's owner when the owner is one of them, else evenly), each due at a time
spread over the working hours of the company's working days, each with its script (the
template rendered for the contact). The PBX capture closes an item by itself
(`hub.activity.call_round_calls`); an employee may close one by hand with a result.
Pause, resume and cancel are the campaign's own (`CampaignManager`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from hub.activity import ActivityStore
from hub.activity.call_round_calls import CALL_CHANNEL, ItemState
from hub.activity.repos.base import checked_name
from hub.activity.repos.call_rounds import (
    Candidate,
    EmployeeProgress,
    ItemRow,
    NewItem,
    RoundRules,
)
from hub.activity.repos.campaigns import CampaignRow, CampaignState, Claimed, NewCampaign
from hub.campaigns import segment_sql
from hub.campaigns.engine import template_of, variables_of
from hub.campaigns.segments import parse
from hub.errors import Conflict, NotFound, TemplateError, ValidationError
from hub.model import utc, utcnow
from hub.templates import RenderedEmail, compile_template

#: Whether a day is worked (the company calendar: `kpi.periods.WorkCalendar.is_working`).
IsWorking = Callable[[date], bool]
#: The `sender` a round's campaign row carries: nothing is sent, the employees call.
NO_SENDER = "call:employees"
#: How far ahead a working day is looked for before the calendar is called empty.
MAX_DAYS_AHEAD = 366
MAX_ATTEMPTS = 20
MAX_MINUTES = 7 * 24 * 60
#: Results an employee can close an item with by hand.
HAND_STATES = (ItemState.DONE, ItemState.NOT_REACHED)
MAX_RESULT = 2000


class Spread(StrEnum):
    """How a round's calls are given to its employees."""

    OWNER = "owner"  # the contact's owner when chosen; the rest evenly
    EVEN = "even"  # in turn, whoever owns the contact


def every_day(day: date) -> bool:
    """A calendar without days off (for callers with no company calendar)."""
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRoundSpec:
    """What a marketer or head asks for; exactly one of `segment_id` and `segment`.
    Working hours are local "HH:MM" in the store's time zone."""

    name: str
    template_id: int
    template_version: int | None = None
    segment_id: int | None = None
    segment: Mapping[str, Any] | None = None
    employees: Sequence[int]
    spread: str = Spread.OWNER.value
    starts_at: datetime | None = None
    day_start: str = "09:00"
    day_end: str = "18:00"
    call_minutes: int = 10
    retry_minutes: int = 120
    max_attempts: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Started:
    """What starting a round did: items made, and contacts left out for want of a phone."""

    items: int
    no_phone: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundStatus:
    """A round, its rules and its progress per employee."""

    campaign: CampaignRow
    rules: RoundRules
    progress: Sequence[EmployeeProgress]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("done", "open", "attempts", "not_reached", "cancelled", "total")
        return {k: sum(int(getattr(p, k)) for p in self.progress) for k in keys}

    def as_dict(self) -> dict[str, Any]:
        c = self.campaign
        r = self.rules
        return {
            "id": c.id,
            "name": c.name,
            "channel": c.channel,
            "state": c.state,
            "template_id": c.template_id,
            "template_version": c.template_version,
            "segment_id": c.segment_id,
            "segment": dict(c.segment),
            "created_by": c.created_by,
            "created_at": c.created_at,
            "started_at": c.started_at,
            "finished_at": c.finished_at,
            "spread": r.spread,
            "employees": list(r.employees),
            "starts_at": r.starts_at,
            "day_start": clock(r.day_start),
            "day_end": clock(r.day_end),
            "call_minutes": r.call_minutes,
            "retry_minutes": r.retry_minutes,
            "max_attempts": r.max_attempts,
            "progress": [
                {
                    "employee_id": p.employee_id,
                    "employee_name": p.employee_name,
                    "done": p.done,
                    "open": p.open,
                    "attempts": p.attempts,
                    "not_reached": p.not_reached,
                    "cancelled": p.cancelled,
                    "total": p.total,
                }
                for p in self.progress
            ],
            "totals": self.totals,
        }


def minutes_of(text: str, field: str) -> int:
    """"HH:MM" as minutes after midnight (24:00 is the end of the day)."""
    try:
        hours, minutes = (int(x) for x in text.split(":"))
    except ValueError:
        raise ValidationError(f"{text!r} is not a time HH:MM", field=field) from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise ValidationError(f"{text!r} is not a time of day", field=field)
    return hours * 60 + minutes


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def spread(
    candidates: Sequence[Candidate], employees: Sequence[int], how: Spread
) -> dict[int, int]:
    """contact id → the employee who calls it. `owner`: the owner when they are one of
    `employees`; everyone else to whoever has the fewest calls so far (first chosen on a
    tie). `even`: in turn, in contact order."""
    chosen = list(dict.fromkeys(employees))
    if not chosen:
        return {}
    given: dict[int, int] = {}
    load = dict.fromkeys(chosen, 0)
    rest: list[Candidate] = []
    for c in candidates:
        if how is Spread.OWNER and c.owner_id in load:
            assert c.owner_id is not None
            given[c.contact_id] = c.owner_id
            load[c.owner_id] += 1
        else:
            rest.append(c)
    for n, c in enumerate(rest):
        if how is Spread.EVEN:
            employee = chosen[n % len(chosen)]
        else:
            employee = min(chosen, key=lambda e: (load[e], chosen.index(e)))
        given[c.contact_id] = employee
        load[employee] += 1
    return given


def next_open(
    at: datetime, rules: RoundRules, tz: ZoneInfo, is_working: IsWorking
) -> datetime:
    """The first moment at or after `at` inside working hours on a working day (UTC)."""
    local = at.astimezone(tz)
    for _ in range(MAX_DAYS_AHEAD):
        day = local.date()
        opens = datetime.combine(day, time(), tz) + timedelta(minutes=rules.day_start)
        closes = datetime.combine(day, time(), tz) + timedelta(minutes=rules.day_end)
        if is_working(day) and local < closes:
            return utc(max(local, opens))
        local = datetime.combine(day + timedelta(days=1), time(), tz)
    raise ValidationError(
        f"no working day in the {MAX_DAYS_AHEAD} days after {at.date()}", field="starts_at"
    )


def due_times(
    count: int, start: datetime, rules: RoundRules, tz: ZoneInfo, is_working: IsWorking
) -> list[datetime]:
    """`count` due times of one employee: from `start`, `call_minutes` apart, each inside
    working hours (what does not fit a day moves to the next working day's start)."""
    out: list[datetime] = []
    at = next_open(start, rules, tz, is_working)
    for _ in range(count):
        out.append(at)
        at = next_open(at + timedelta(minutes=rules.call_minutes), rules, tz, is_working)
    return out


def _check_range(value: int, low: int, high: int, field: str) -> None:
    if not low <= value <= high:
        raise ValidationError(f"{field} is from {low} to {high}", field=field)


class CallRoundManager:
    """Create and start call rounds, list their calls, close one by hand, report progress."""

    def __init__(
        self,
        store: ActivityStore,
        *,
        tz: ZoneInfo,
        is_working: IsWorking = every_day,
        company: str = "",
    ) -> None:
        self.store = store
        self.repo = store.call_rounds
        self.tz = tz
        self.is_working = is_working
        self.company = company

    async def create(self, spec: CallRoundSpec, *, created_by: str) -> CampaignRow:
        """Check every part of `spec` and save a draft round; refusals name the field."""
        name = checked_name(spec.name, "campaign")
        if (spec.segment_id is None) == (spec.segment is None):
            raise ValidationError("give either segment_id or an inline segment", field="segment")
        if spec.segment is not None:
            definition: Mapping[str, Any] = dict(spec.segment)
            try:
                parse(definition)
            except ValidationError as exc:
                raise ValidationError(
                    str(exc), field=f"segment.{exc.field or ''}".rstrip(".")
                ) from exc
        else:
            assert spec.segment_id is not None
            try:
                definition = (await self.store.segments.get(spec.segment_id)).definition
            except NotFound as exc:
                raise ValidationError(str(exc), field="segment_id") from exc
        try:
            await self.store.templates.get(spec.template_id)
            version = await self.store.templates.version(spec.template_id, spec.template_version)
        except NotFound as exc:
            field = "template_id" if spec.template_version is None else "template_version"
            raise ValidationError(str(exc), field=field) from exc
        compile_template(template_of(version))  # a broken script is refused now
        try:
            how = Spread(spec.spread)
        except ValueError:
            raise ValidationError(
                f"spread {spec.spread!r} is not one of owner, even", field="spread"
            ) from None
        chosen = list(dict.fromkeys(int(e) for e in spec.employees))
        if not chosen:
            raise ValidationError("choose at least one employee", field="employees")
        known = await self.repo.employee_names(chosen)
        unknown = [e for e in chosen if e not in known]
        if unknown:
            raise ValidationError(
                f"no employee {', '.join(map(str, unknown))}", field="employees"
            )
        day_start = minutes_of(spec.day_start, "day_start")
        day_end = minutes_of(spec.day_end, "day_end")
        if day_end <= day_start:
            raise ValidationError("the working day ends after it starts", field="day_end")
        _check_range(spec.call_minutes, 1, MAX_MINUTES, "call_minutes")
        _check_range(spec.retry_minutes, 1, MAX_MINUTES, "retry_minutes")
        _check_range(spec.max_attempts, 1, MAX_ATTEMPTS, "max_attempts")
        if spec.starts_at is not None and spec.starts_at.tzinfo is None:
            raise ValidationError("starts_at needs a time zone (e.g. Z or +03:00)", field="starts_at")
        return await self.repo.create_round(
            NewCampaign(
                name=name,
                channel=CALL_CHANNEL,
                template_id=spec.template_id,
                template_version=version.version,
                segment_id=spec.segment_id,
                segment=definition,
                sender=NO_SENDER,
                schedule="at" if spec.starts_at is not None else "now",
                send_at=utc(spec.starts_at) if spec.starts_at is not None else None,
                local_hour=None,
                throttle_per_s=None,
                created_by=created_by,
            ),
            RoundRules(
                spread=how.value,
                employees=tuple(chosen),
                starts_at=utc(spec.starts_at) if spec.starts_at is not None else None,
                day_start=day_start,
                day_end=day_end,
                call_minutes=spec.call_minutes,
                retry_minutes=spec.retry_minutes,
                max_attempts=spec.max_attempts,
            ),
        )

    async def round(self, campaign_id: int) -> tuple[CampaignRow, RoundRules]:
        campaign = await self.repo.get(campaign_id)
        return campaign, await self.repo.rules(campaign_id)

    async def start(self, campaign_id: int) -> Started:
        """Plan the calls of a draft round and set it running (a saved segment is read as
        it is now); a script that cannot be rendered for a contact refuses the start."""
        campaign, rules = await self.round(campaign_id)
        if campaign.state != CampaignState.DRAFT.value:
            raise Conflict(
                f"campaign {campaign_id} is {campaign.state}; only a draft can start", field="state"
            )
        definition = dict(campaign.segment)
        if campaign.segment_id is not None:
            definition = dict((await self.store.segments.get(campaign.segment_id)).definition)
            campaign = CampaignRow(
                **{**{n: getattr(campaign, n) for n in CampaignRow.__slots__}, "segment": definition}
            )
        now = utcnow()
        members = segment_sql.membership(parse(definition), now)
        candidates = await self.repo.candidates(members)
        callable_ = [c for c in candidates if c.number is not None]
        given = spread(callable_, rules.employees, Spread(rules.spread))
        version = await self.store.templates.version(campaign.template_id, campaign.template_version)
        compiled = compile_template(template_of(version))
        people = await self.repo.people([c.contact_id for c in callable_])
        start = max(now, rules.starts_at) if rules.starts_at is not None else now
        by_employee: dict[int, list[Candidate]] = {}
        for c in callable_:
            by_employee.setdefault(given[c.contact_id], []).append(c)
        items: list[NewItem] = []
        for employee, theirs in by_employee.items():
            times = due_times(len(theirs), start, rules, self.tz, self.is_working)
            for c, due in zip(theirs, times, strict=True):
                assert c.number is not None
                claimed = Claimed(id=0, address=c.number, attempts=0, **people[c.contact_id])
                try:
                    rendered = compiled.render(variables_of(claimed, campaign, self.company))
                except TemplateError as exc:
                    raise ValidationError(
                        f"the script cannot be rendered for contact {c.contact_id}: {exc}",
                        field="template_id",
                    ) from exc
                text = rendered.text
                if isinstance(rendered, RenderedEmail) and rendered.subject:
                    text = f"{rendered.subject}\n\n{text}"
                items.append(
                    NewItem(
                        contact_id=c.contact_id,
                        employee_id=employee,
                        number=c.number,
                        due_at=due,
                        script=text,
                    )
                )
        items.sort(key=lambda i: (i.due_at, i.contact_id))
        made = await self.repo.start_round(campaign, items, now)
        return Started(items=made, no_phone=len(candidates) - len(callable_))

    async def status(
        self, campaign_id: int, employee_ids: Sequence[int] | frozenset[int] | None = None
    ) -> RoundStatus:
        """The round and its progress per employee (those of `employee_ids` when given)."""
        campaign, rules = await self.round(campaign_id)
        return RoundStatus(
            campaign=campaign,
            rules=rules,
            progress=await self.repo.progress(campaign_id, employee_ids),
        )

    async def close(
        self,
        item_id: int,
        state: str,
        result: str,
        employee_ids: frozenset[int] | None = None,
    ) -> ItemRow:
        """Close an open item by hand (done or not_reached) with a result; an item of an
        employee outside `employee_ids` (when given) is not found."""
        try:
            to = ItemState(state)
        except ValueError:
            to = ItemState.CANCELLED
        if to not in HAND_STATES:
            raise ValidationError("an item is closed as done or not_reached", field="state")
        text = result.strip()
        if not text or len(text) > MAX_RESULT:
            raise ValidationError(f"a result has 1 to {MAX_RESULT} characters", field="result")
        item = await self.repo.item(item_id)
        if employee_ids is not None and item.employee_id not in employee_ids:
            raise NotFound(f"no call round item {item_id}")
        return await self.repo.close(item_id, to, text)
