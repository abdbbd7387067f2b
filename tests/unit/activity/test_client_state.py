"""The client-base state arithmetic: touch days, gaps, events, deltas (no database)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from hub.activity.rollups.client_state import (
    CONTACTS,
    ClientState,
    Deltas,
    Maintained,
    build_state,
    delta_rows,
    diff,
    filled_columns,
    filled_measure,
    forgotten_measure,
    touch_plan,
)


def test_a_touch_day_splits_only_the_gap_it_falls_in() -> None:
    state = build_state(1, created=100, filled={}, touch_days=[140, 150, 200], shortest=30)
    assert state.gaps == [(100, 140), (150, 200)] and state.last == 200
    state.add_touch(170, 30)  # 150..170..200: both halves short
    assert state.gaps == [(100, 140)]
    state.add_touch(90, 30)  # before the client existed: ignored
    state.add_touch(140, 30)  # a day already touched: nothing
    assert state.gaps == [(100, 140)]
    events = state.events([30])
    # forgotten from day 131 until the touch on 140 (counts from 141 off), and from 231 on
    assert events[("forgotten:30", 131)] == 1 and events[("forgotten:30", 141)] == -1
    assert events[("forgotten:30", 231)] == 1
    assert events[("contacts", 101)] == 1


@pytest.mark.parametrize("seed", range(20))
def test_forgotten_on_agrees_with_the_summed_events(seed: int) -> None:
    rnd = random.Random(seed)
    days = rnd.choice([1, 7, 30])
    state = build_state(
        1,
        created=1000,
        filled={},
        touch_days=[rnd.randrange(990, 1200) for _ in range(rnd.randrange(0, 12))],
        shortest=days,
    )
    events = state.events([days])
    running = 0
    for day in range(990, 1300):
        running += events.get((forgotten_measure(days), day), 0)
        assert state.forgotten_on(day, days) == (running > 0), (day, state)


@pytest.mark.parametrize("seed", range(30))
def test_touches_added_one_by_one_equal_a_state_built_at_once(seed: int) -> None:
    """Applying touch days in any order (the ingest path) gives the rebuild's state."""
    rnd = random.Random(seed)
    shortest = rnd.choice([3, 7, 30])
    touches = [rnd.randrange(480, 900) for _ in range(rnd.randrange(0, 15))]
    state = ClientState(owner=1, created=500)
    for day in touches:
        state.add_touch(day, shortest)
    assert state == build_state(1, 500, {}, touches, shortest)


def test_with_touches_says_none_when_nothing_moves() -> None:
    state = build_state(1, 100, {}, [120, 160], shortest=30)
    assert state.with_touches([120, 90], 30) is None  # already touched / before creation
    moved = state.with_touches([200], 30)
    assert moved is not None and moved.last == 200 and state.last == 160  # a copy


def test_filled_fields_count_from_creation_or_filling_whichever_is_later() -> None:
    state = build_state(7, 100, {"city": 100, "email": 130, "phone": 50}, [], 30)
    events = state.events([])
    assert events[(filled_measure("city"), 101)] == 1
    assert events[(filled_measure("email"), 131)] == 1
    assert events[(filled_measure("phone"), 101)] == 1  # filled before creation: from creation
    assert events[(CONTACTS, 101)] == 1


def test_diff_of_an_owner_change_moves_every_event() -> None:
    old = build_state(1, 100, {"city": 100}, [150], 30)
    new = old.copy()
    new.owner = 2
    deltas: Deltas = Counter()
    diff(deltas, old, new, [30])
    assert deltas[(1, CONTACTS, 101)] == -1 and deltas[(2, CONTACTS, 101)] == 1
    assert deltas[(1, filled_measure("city"), 101)] == -1
    assert deltas[(2, forgotten_measure(30), 181)] == 1
    same: Deltas = Counter()
    diff(same, old, old.copy(), [30])
    assert not +same and not -same  # nothing but zeros


def test_delta_rows_sum_days_into_months_and_drop_zeros() -> None:
    d1, d2 = date(2026, 10, 30).toordinal(), date(2026, 10, 31).toordinal()
    d3 = date(2026, 11, 1).toordinal()
    deltas: Deltas = Counter({(1, CONTACTS, d1): 2, (1, CONTACTS, d2): -2, (1, CONTACTS, d3): 1})
    deltas[(2, CONTACTS, d1)] = 0
    daily, monthly = delta_rows(deltas)
    assert [(r["day"], r["n"]) for r in daily] == [
        (date(2026, 10, 30), 2),
        (date(2026, 10, 31), -2),
        (date(2026, 11, 1), 1),
    ]
    assert monthly == [{"employee_id": 1, "measure": CONTACTS, "month": "2026-11", "n": 1}]


def test_touch_plan_recomputes_clients_that_lost_a_touch_day() -> None:
    gone = Counter({(1, 10): 1, (2, 20): 1, (3, 30): 2})
    came = Counter({(1, 10): 1, (2, 21): 1, (3, 30): 1, (4, 40): 1, (1, 11): 1})
    recompute, new_days = touch_plan(gone, came)
    # 1: re-recorded unchanged, a new day 11; 2: moved 20 → 21; 3: one of two went; 4: new
    assert recompute == {2, 3}
    assert new_days == {1: {11}, 4: {40}}


def test_maintained_reads_the_measure_names() -> None:
    kept = Maintained.of(["fields", "forgotten:30", "forgotten:7"])
    assert kept == Maintained(True, (7, 30)) and kept.shortest == 7
    assert not Maintained.of([]).fields


def test_a_state_survives_its_stored_form() -> None:
    state = build_state(3, 100, {"city": 100, "email": 120}, [140, 200, 260], 30)
    assert ClientState.load(3, state.dump()) == state


def test_filled_columns_take_the_organisation_by_id() -> None:
    row = {
        "name": "Anna",
        "position": "",
        "region": None,
        "city": "Kazan",
        "importance": None,
        "segment": None,
        "organization_id": 5,
    }
    assert filled_columns(row) == ["name", "city", "organization"]
