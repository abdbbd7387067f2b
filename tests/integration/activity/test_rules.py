"""Every KPI rule's Python predicate and its SQL twin agree on generated activities.

The roll-ups are moved in Python and rebuilt, read and drilled into in SQL; if a rule
said one thing in Python and another in SQL, the two would drift apart unnoticed. Each
generated batch is written to the store (SQLite and PostgreSQL) and every rule of
`hub/activity/rollups/rules.py` is judged both ways on every row; the local day too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, delete, insert, select

from hub.activity import ActivityStore
from hub.activity.rollups import rules
from hub.activity.rollups.localtime import day_of, local_day_sql, offset_intervals
from hub.activity.schema import activities, contacts
from hub.model import Channel, Direction, Status

BERLIN = ZoneInfo("Europe/Berlin")  # a DST change on 25 Oct 2026
START = datetime(2026, 10, 20, tzinfo=UTC)
CONTACTS = 2

Predicate = Callable[[dict[str, Any]], bool]
#: (name, Python predicate over a row, SQL twin over the activities table)
RULES: list[tuple[str, Predicate, Callable[[], ColumnElement[bool]]]] = [
    (
        "touch",
        lambda r: rules.is_touch(r["channel"], r["direction"], r["status"], r["is_client"]),
        rules.touch_clause,
    ),
    ("has_result", lambda r: rules.has_result(r["result"]), rules.has_result_clause),
    ("late", lambda r: rules.is_late(r["completed_at"], r["due_at"]), rules.late_clause),
    ("missed_call", rules.is_missed_call, rules.missed_call_clause),
    ("answered_call", rules.is_answered_call, rules.answered_call_clause),
    (
        "completed_callback",
        lambda r: rules.completed_callback_for(r) is not None,
        rules.completed_callback_clause,
    ),
]


def _instant(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


@st.composite
def activity(draw: st.DrawFn) -> dict[str, Any]:
    # Times near local midnights and across the DST change, to the microsecond.
    at = _instant(draw(st.integers(0, 12 * 86400))).replace(
        microsecond=draw(st.sampled_from([0, 1, 999_999]))
    )
    if draw(st.booleans()):
        at = at.replace(hour=draw(st.sampled_from([21, 22, 23, 0])), minute=59, second=59)
    due = draw(
        st.one_of(st.none(), st.integers(-86400, 86400).map(lambda s: at + timedelta(seconds=s)))
    )
    completed = draw(
        st.one_of(
            st.none(),
            st.sampled_from([-1, 0, 1, 3600]).map(lambda s: (due or at) + timedelta(seconds=s)),
        )
    )
    return {
        "source": draw(st.sampled_from([rules.CALLBACK_SOURCE, "manual", "ami:office"])),
        "channel": draw(st.sampled_from([c.value for c in Channel])),
        "direction": draw(st.sampled_from([d.value for d in Direction])),
        "status": draw(st.sampled_from([s.value for s in Status])),
        "occurred_at": at,
        "due_at": due,
        "completed_at": completed,
        "result": draw(st.sampled_from([None, "", "agreed"])),
        "is_client": draw(st.booleans()),
        "contact_index": draw(st.one_of(st.none(), st.integers(0, CONTACTS - 1))),
        "meta": draw(
            st.sampled_from([{}, {"callback_for": None}, {"callback_for": 1}, {"callback_for": 42}])
        ),
    }


async def _contacts(store: ActivityStore) -> list[int]:
    async with store.engine.begin() as conn:
        found = list((await conn.execute(select(contacts.c.id).order_by(contacts.c.id))).scalars())
        now = datetime.now(UTC)
        for i in range(len(found), CONTACTS):
            result = await conn.execute(
                insert(contacts).returning(contacts.c.id),
                {
                    "name": f"C{i}",
                    "custom": {},
                    "is_lead": False,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            found.append(int(result.scalar_one()))
    return found


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(activity(), min_size=1, max_size=30))
async def test_python_and_sql_rules_agree(
    store: ActivityStore, batch: list[dict[str, Any]]
) -> None:
    ids_of_contacts = await _contacts(store)
    now = datetime.now(UTC)
    rows = []
    for n, drawn in enumerate(batch):
        row = {k: v for k, v in drawn.items() if k != "contact_index"}
        index = drawn["contact_index"]
        row.update(
            external_id=f"r{n}",
            contact_id=None if index is None else ids_of_contacts[index],
            flags="",
            created_at=now,
            updated_at=now,
        )
        rows.append(row)
    async with store.engine.begin() as conn:
        await conn.execute(delete(activities))
        await conn.execute(insert(activities), rows)
        stored = {r["id"]: dict(r) for r in (await conn.execute(select(activities))).mappings()}
        for name, predicate, clause in RULES:
            in_sql = set((await conn.execute(select(activities.c.id).where(clause()))).scalars())
            in_python = {aid for aid, row in stored.items() if predicate(row)}
            assert in_sql == in_python, name
        # the call a completed callback task names, both ways
        named = dict(
            (
                await conn.execute(
                    select(activities.c.id, rules.callback_for_column()).where(
                        rules.completed_callback_clause()
                    )
                )
            ).all()
        )
        assert named == {
            aid: call
            for aid, row in stored.items()
            if (call := rules.completed_callback_for(row)) is not None
        }
        # the company-local day of every time
        intervals = offset_intervals(BERLIN, START - timedelta(days=3), START + timedelta(days=16))
        for column in ("occurred_at", "due_at", "completed_at"):
            col = activities.c[column]
            days = dict(
                (
                    await conn.execute(
                        select(activities.c.id, local_day_sql(conn, col, intervals)).where(
                            col.is_not(None)
                        )
                    )
                ).all()
            )
            expected = {
                aid: day_of(row[column], BERLIN)
                for aid, row in stored.items()
                if row[column] is not None
            }
            assert {aid: str(day) for aid, day in days.items()} == {
                aid: str(day) for aid, day in expected.items()
            }, column
