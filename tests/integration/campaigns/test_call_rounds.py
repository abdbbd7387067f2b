"""Call rounds: calls spread over employees, closed by the PBX capture's calls by themselves.

Calls go through the store's record path, as the AMI capture writes them (and once as a
replayed PBX recording). What calls close runs on SQLite and PostgreSQL; the rules with no
SQL of their own (spreading, checks, closing by hand, cancelling) on SQLite only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from hub.activity import ActivityStore
from hub.activity.repos.call_rounds import Candidate, ItemRow, RoundRules
from hub.activity.schema import activities, call_round_items
from hub.campaigns.call_rounds import (
    CallRoundManager,
    CallRoundSpec,
    Spread,
    due_times,
    spread,
)
from hub.campaigns.manager import CampaignManager
from hub.errors import Conflict, NotFound, ValidationError
from hub.model import Address, AddressKind, Direction, Status, utcnow
from hub.telephony.ami_adapter import call_to_touch
from hub.telephony.call_assembler import AssemblerConfig
from kpi.service import KpiService
from kpi.viewer import Viewer
from tests.helpers.ami_server import recordings, replay_recording
from tests.helpers.call_round_world import CLIENTS, call, seed_round_world, start_round


def phone(name: str) -> str:
    return CLIENTS[name][0]


async def items_by_contact(store: ActivityStore, campaign_id: int) -> dict[int, ItemRow]:
    return {i.contact_id: i for i in await store.call_rounds.items(campaign_id=campaign_id)}


async def test_owner_spread_gives_clients_to_their_owner_and_the_rest_evenly(
    store: ActivityStore,
) -> None:
    world = await seed_round_world(store)
    cid = await start_round(store, world, employees=("alice", "bob"), spread="owner")
    items = {i.contact_id: i for i in await store.call_rounds.items(campaign_id=cid)}
    e, c = world.employees, world.clients
    assert c["Mute Client"] not in items  # no phone, nothing to dial
    assert items[c["Ivan Petrov"]].employee_id == e["alice"]
    assert items[c["Olga Ivanova"]].employee_id == e["alice"]
    assert items[c["Petr Sokolov"]].employee_id == e["bob"]
    # Carol is not in the round and Nikolay has no owner: each goes to whoever has fewer
    # calls (Bob, then Alice first on a tie)
    assert items[c["Anna Belova"]].employee_id == e["bob"]
    assert items[c["Nikolay Orlov"]].employee_id == e["alice"]
    ivan = items[c["Ivan Petrov"]]
    assert ivan.script == "Здравствуйте, Ivan Petrov! Звоним от Acme по поводу заказа."
    assert ivan.number == phone("Ivan Petrov") and ivan.state == "open" and ivan.attempts == 0
    # every item is a planned task on its contact's timeline, for its employee
    async with store.engine.connect() as conn:
        task = (
            await conn.execute(select(activities).where(activities.c.id == ivan.activity_id))
        ).mappings().one()
    assert (task["channel"], task["status"], task["employee_id"]) == ("task", "planned", e["alice"])
    assert task["contact_id"] == c["Ivan Petrov"] and task["subject"] == "Spring round"
    # one employee's calls are spaced call_minutes apart
    alices = sorted(i.due_at for i in items.values() if i.employee_id == e["alice"])
    assert [a - alices[0] for a in alices] == [timedelta(minutes=m) for m in (0, 5, 10)]


async def test_even_spread_deals_in_turn_whoever_owns_the_client(sqlite_store: ActivityStore) -> None:
    store = sqlite_store
    world = await seed_round_world(store)
    cid = await start_round(store, world, employees=("alice", "bob"), spread="even")
    items = await store.call_rounds.items(campaign_id=cid)
    mine = [i.employee_id for i in sorted(items, key=lambda i: i.contact_id)]
    e = world.employees
    assert mine == [e["alice"], e["bob"], e["alice"], e["bob"], e["alice"]]


async def test_an_answered_call_closes_only_that_employees_item_in_the_same_write(
    store: ActivityStore,
) -> None:
    world = await seed_round_world(store)
    cid = await start_round(store, world)
    c = world.clients
    now = utcnow()
    # Bob calls Alice's client Ivan: answered, but Ivan is Alice's call to make
    await store.record([call("bob", phone("Ivan Petrov"), now)])
    items = await items_by_contact(store, cid)
    assert items[c["Ivan Petrov"]].state == "open"
    # Ivan calls Alice back and she answers: inbound counts too
    await store.record(
        [call("alice", phone("Ivan Petrov"), now + timedelta(minutes=1), direction=Direction.IN)]
    )
    ivan = (await items_by_contact(store, cid))[c["Ivan Petrov"]]
    assert ivan.state == "done" and ivan.closed_by is not None
    assert ivan.result == "reached (in call answered)"
    async with store.engine.connect() as conn:
        task = (
            await conn.execute(select(activities).where(activities.c.id == ivan.activity_id))
        ).mappings().one()
    assert task["status"] == "completed" and task["completed_at"] is not None
    progress = {p.employee_id: p for p in await store.call_rounds.progress(cid)}
    alice = progress[world.employees["alice"]]
    assert (alice.done, alice.open, alice.attempts, alice.not_reached) == (1, 2, 0, 0)


async def test_a_call_before_the_round_started_closes_nothing(sqlite_store: ActivityStore) -> None:
    store = sqlite_store
    world = await seed_round_world(store)
    cid = await start_round(store, world)
    await store.record([call("alice", phone("Olga Ivanova"), utcnow() - timedelta(hours=1))])
    olga = (await items_by_contact(store, cid))[world.clients["Olga Ivanova"]]
    assert olga.state == "open"


async def test_no_answer_stays_open_retries_and_ends_not_reached(store: ActivityStore) -> None:
    world = await seed_round_world(store)
    cid = await start_round(store, world, max_attempts=2, retry_minutes=30)
    petr = world.clients["Petr Sokolov"]
    t1 = utcnow() + timedelta(seconds=1)
    first = call("bob", phone("Petr Sokolov"), t1, status=Status.NO_ANSWER)
    await store.record([first])
    await store.record([first])  # the same call written again is not a second attempt
    item = (await items_by_contact(store, cid))[petr]
    assert item.state == "open" and item.attempts == 1
    assert item.due_at == t1 + timedelta(minutes=30)
    # an unanswered inbound call from the client is no attempt of ours
    await store.record(
        [call("bob", phone("Petr Sokolov"), t1 + timedelta(minutes=1), status=Status.MISSED,
              direction=Direction.IN)]
    )  # fmt: skip
    assert (await items_by_contact(store, cid))[petr].attempts == 1
    await store.record(
        [call("bob", phone("Petr Sokolov"), t1 + timedelta(minutes=31), status=Status.BUSY)]
    )
    item = (await items_by_contact(store, cid))[petr]
    assert item.state == "not_reached" and item.attempts == 2
    async with store.engine.connect() as conn:
        task = (
            await conn.execute(select(activities).where(activities.c.id == item.activity_id))
        ).mappings().one()
    assert task["status"] == "cancelled" and task["result"] == "not reached (2 attempts)"
    # a later answered call finds nothing open to close
    await store.record([call("bob", phone("Petr Sokolov"), t1 + timedelta(hours=1))])
    assert (await items_by_contact(store, cid))[petr].state == "not_reached"
    bob = {p.employee_id: p for p in await store.call_rounds.progress(cid)}[world.employees["bob"]]
    assert (bob.done, bob.open, bob.attempts, bob.not_reached) == (0, 1, 2, 1)


async def test_closing_by_hand_and_the_round_finishes_when_nothing_is_open(
    sqlite_store: ActivityStore,
) -> None:
    store = sqlite_store
    world = await seed_round_world(store)
    cid = await start_round(store, world, employees=("alice",))
    manager = CallRoundManager(store, tz=store.tz)
    items = await store.call_rounds.items(campaign_id=cid)
    assert len(items) == 5
    bob_only = frozenset({world.employees["bob"]})
    with pytest.raises(NotFound):
        await manager.close(items[0].id, "done", "talked", employee_ids=bob_only)
    with pytest.raises(ValidationError):
        await manager.close(items[0].id, "cancelled", "talked")
    closed = await manager.close(items[0].id, "done", "  agreed on a meeting ")
    assert closed.state == "done" and closed.result == "agreed on a meeting"
    with pytest.raises(Conflict):
        await manager.close(items[0].id, "not_reached", "again")
    for item in items[1:]:
        await manager.close(item.id, "not_reached", "wrong number")
    status = await manager.status(cid)
    assert status.campaign.state == "finished"
    assert status.totals == {
        "done": 1, "open": 0, "attempts": 0, "not_reached": 4, "cancelled": 0, "total": 5,
    }  # fmt: skip


async def test_cancel_cancels_the_open_items_and_their_tasks(sqlite_store: ActivityStore) -> None:
    store = sqlite_store
    world = await seed_round_world(store)
    cid = await start_round(store, world)
    await store.record([call("alice", phone("Ivan Petrov"), utcnow())])
    await CampaignManager(store, senders=[], tz=store.tz).cancel(cid)
    states = sorted(i.state for i in await store.call_rounds.items(campaign_id=cid))
    assert states == ["cancelled"] * 4 + ["done"]
    async with store.engine.connect() as conn:
        statuses = sorted(
            (
                await conn.execute(
                    select(activities.c.status).where(activities.c.source == "call-round")
                )
            ).scalars()
        )
    assert statuses == ["cancelled"] * 4 + ["completed"]


async def test_a_round_is_checked_when_created(sqlite_store: ActivityStore) -> None:
    store = sqlite_store
    world = await seed_round_world(store)
    manager = CallRoundManager(store, tz=store.tz)
    from_spec = dict(
        name="r", template_id=world.template_id, segment={"all": []},
        employees=[world.employees["alice"]],
    )  # fmt: skip
    for bad, field in (
        ({"employees": []}, "employees"),
        ({"employees": [999_999]}, "employees"),
        ({"spread": "random"}, "spread"),
        ({"day_start": "18:00", "day_end": "09:00"}, "day_end"),
        ({"day_start": "25:00"}, "day_start"),
        ({"max_attempts": 0}, "max_attempts"),
    ):
        with pytest.raises(ValidationError) as caught:
            await manager.create(CallRoundSpec(**{**from_spec, **bad}), created_by="t")  # type: ignore[arg-type]
        assert caught.value.field == field


def test_due_times_keep_to_working_hours_and_skip_days_off() -> None:
    tz = ZoneInfo("Europe/Moscow")
    rules = RoundRules(
        spread="owner", employees=(1,), starts_at=None, day_start=9 * 60, day_end=10 * 60,
        call_minutes=20, retry_minutes=60, max_attempts=3,
    )  # fmt: skip
    friday_evening = datetime(2026, 12, 4, 9, 30, tzinfo=tz)  # 09:30 local, Friday
    holidays = {date(2026, 12, 7)}  # Monday off

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in holidays

    times = [t.astimezone(tz) for t in due_times(4, friday_evening, rules, tz, working)]
    assert [(t.day, t.hour, t.minute) for t in times] == [(4, 9, 30), (4, 9, 50), (8, 9, 0), (8, 9, 20)]
    assert all(t.tzinfo is not None for t in due_times(1, datetime(2026, 12, 4, tzinfo=UTC), rules, tz, working))


def test_spread_by_owner_and_evenly() -> None:
    people = [Candidate(contact_id=i, owner_id=o, number="x") for i, o in
              [(1, 10), (2, 10), (3, 10), (4, None), (5, 30), (6, 20)]]  # fmt: skip
    assert spread(people, [10, 20], Spread.OWNER) == {1: 10, 2: 10, 3: 10, 4: 20, 5: 20, 6: 20}
    assert spread(people, [10, 20], Spread.EVEN) == {1: 10, 2: 20, 3: 10, 4: 20, 5: 10, 6: 20}


async def test_calls_done_per_employee_is_a_kpi_indicator(store: ActivityStore) -> None:
    world = await seed_round_world(store)
    cid = await start_round(store, world, employees=("alice", "bob"))
    now = utcnow()
    await store.record([call("alice", phone("Ivan Petrov"), now)])  # closes Alice's Ivan
    olga = (await items_by_contact(store, cid))[world.clients["Olga Ivanova"]]
    await CallRoundManager(store, tz=store.tz).close(olga.id, "done", "sent an offer")
    petr = (await items_by_contact(store, cid))[world.clients["Petr Sokolov"]]
    await CallRoundManager(store, tz=store.tz).close(petr.id, "not_reached", "no such number")
    kpi = KpiService(store)
    month = kpi.current_month()
    facts = {}
    for name in ("alice", "bob"):
        table = await kpi.table(Viewer.admin(), str(month), employee=world.employees[name])
        facts[name] = {c.indicator: c.fact for c in table.cells}["call_round_calls_done"]
    assert facts == {"alice": 2, "bob": 0}
    drilled = await kpi.drill_count(
        Viewer.admin(), "call_round_calls_done", world.employees["alice"], str(month)
    )
    assert drilled == 2


async def test_a_replayed_pbx_recording_closes_the_call_by_itself(store: ActivityStore) -> None:
    """The office PBX's recorded stream (101 calls +74951234567, answered), assembled and
    written as the AMI capture writes it, closes extension 101's call to that client."""
    rec = next(r for r in recordings() if r.name.startswith("04_outbound_101_answered"))
    world = await seed_round_world(store)
    client = await store.contacts.create(
        "Recorded Client",
        owner_employee_id=world.employees["head"],  # extension 101
        addresses=[Address(kind=AddressKind.PHONE, value="+74951234567")],
    )
    cid = await start_round(store, world, employees=("head", "alice"))
    # the round began before the recorded morning
    async with store.engine.begin() as conn:
        await conn.execute(
            update(call_round_items)
            .where(call_round_items.c.campaign_id == cid)
            .values(created_at=datetime(2026, 11, 1, tzinfo=UTC))
        )
    config = AssemblerConfig(internal_pattern=rec.internal_pattern, trunk_pattern=rec.trunk_pattern)
    calls = replay_recording(rec, config)
    assert [(c.direction, c.status) for c in calls] == [("out", "answered")]
    await store.record([call_to_touch(c, "ami:office") for c in calls])
    items = await items_by_contact(store, cid)
    assert items[client].state == "done" and items[client].employee_id == world.employees["head"]
    assert items[client].result == "reached (out call answered)"
    assert sorted(i.state for i in items.values()) == ["done"] + ["open"] * 5
