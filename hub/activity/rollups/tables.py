"""The roll-up tables kept beside the activities, and the keys they are written by.

- `kpi_daily` / `kpi_monthly` count activities per company-local day (month), employee
  and every dimension an indicator may filter on; each activity is counted once per time
  it carries (occurred, completed, due: the `basis`). A month's table reads
  `kpi_monthly` (a few thousand rows); days and weeks read `kpi_daily`.
- `kpi_contact_month` keeps who touched which client in which local month, and
  `kpi_employee_month` how many distinct clients each employee touched that month.
- `kpi_contact_touch` keeps, per client and local month, the number of touches and the
  first and last touch time: "forgotten clients" is one probe per client, not a scan of
  the client's activities.
- `kpi_missed_calls` holds one row per unanswered inbound call with whether a completed
  callback task or a later answered call with the client exists (`task_done`,
  `answered_later`): "missed calls not called back" is a count of open rows.
- `kpi_client_state`, `kpi_owner_day`, `kpi_owner_month`, `kpi_client_base_meta`: the
  client-base deltas (see `client_base.py`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Date, Float, Index, Integer, String, Table, Text

from hub.activity.schema import Id, UTCDateTime, activities, identities, metadata

#: Where a roll-up row's day comes from.
BASIS_COLUMNS: dict[str, str] = {"o": "occurred_at", "c": "completed_at", "d": "due_at"}
#: Employee id used for activities with no employee (primary keys cannot be NULL).
NO_EMPLOYEE = 0


def _dims() -> list[Column[Any]]:
    """The dimension and sum columns shared by the daily and monthly roll-ups."""
    return [
        Column("employee_id", Id, primary_key=True, autoincrement=False),
        Column("channel", String(16), primary_key=True),
        Column("direction", String(16), primary_key=True),
        Column("status", String(16), primary_key=True),
        Column("is_client", Boolean, primary_key=True),
        Column("has_result", Boolean, primary_key=True),
        Column("late", Boolean, primary_key=True),
        Column("n", Integer, nullable=False),
        Column("duration_s", Float, nullable=False),
        Column("talk_s", Float, nullable=False),
    ]


kpi_daily = Table(
    "kpi_daily",
    metadata,
    Column("basis", String(1), primary_key=True),
    Column("day", Date, primary_key=True),
    *_dims(),
)

kpi_monthly = Table(
    "kpi_monthly",
    metadata,
    Column("basis", String(1), primary_key=True),
    Column("month", String(7), primary_key=True),
    *_dims(),
)

kpi_contact_month = Table(
    "kpi_contact_month",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    Index("ix_kpi_contact_month_contact", "contact_id", "month"),
)

kpi_employee_month = Table(
    "kpi_employee_month",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("contacts", Integer, nullable=False),
)

kpi_contact_touch = Table(
    "kpi_contact_touch",
    metadata,
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("month", String(7), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    sqlite_with_rowid=False,
)

kpi_missed_calls = Table(
    "kpi_missed_calls",
    metadata,
    Column("activity_id", Id, primary_key=True, autoincrement=False),
    Column("employee_id", Id, nullable=False),
    Column("day", Date, nullable=False),
    Column("contact_id", Id),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("is_client", Boolean, nullable=False),
    Column("task_done", Boolean, nullable=False),
    Column("answered_later", Boolean, nullable=False),
    Index("ix_kpi_missed_calls_day", "day", "employee_id"),
    Index("ix_kpi_missed_calls_employee", "employee_id", "day"),
    Index("ix_kpi_missed_calls_contact", "contact_id", "occurred_at"),
)

ROLLUP_TABLES = (
    kpi_daily,
    kpi_monthly,
    kpi_contact_month,
    kpi_employee_month,
    kpi_contact_touch,
    kpi_missed_calls,
)

#: Drill-downs by due and completion time (overdue, completed interactions) without a scan
#: of the employee's whole history; partial, so they cost nothing for calls and letters.
KPI_ACTIVITY_INDEXES = (
    Index(
        "ix_activities_kpi_employee_due",
        activities.c.employee_id,
        activities.c.due_at,
        sqlite_where=activities.c.due_at.is_not(None),
        postgresql_where=activities.c.due_at.is_not(None),
    ),
    Index(
        "ix_activities_kpi_employee_completed",
        activities.c.employee_id,
        activities.c.completed_at,
        sqlite_where=activities.c.completed_at.is_not(None),
        postgresql_where=activities.c.completed_at.is_not(None),
    ),
)

#: Client-base quality: "has an e-mail / a phone as of" from this index alone.
KPI_IDENTITY_INDEX = Index(
    "ix_identities_kpi_contact_kind",
    identities.c.contact_id,
    identities.c.kind,
    identities.c.created_at,
)

DIM_KEY = ("employee_id", "channel", "direction", "status", "is_client", "has_result", "late")
DAILY_KEY = ("basis", "day", *DIM_KEY)
MONTHLY_KEY = ("basis", "month", *DIM_KEY)
CONTACT_MONTH_KEY = ("month", "employee_id", "contact_id")
MISSED_COLUMNS = (
    "activity_id",
    "employee_id",
    "day",
    "contact_id",
    "occurred_at",
    "status",
    "is_client",
    "task_done",
    "answered_later",
)

# -- client base ----------------------------------------------------------------------

kpi_client_state = Table(
    "kpi_client_state",
    metadata,
    Column("contact_id", Id, primary_key=True, autoincrement=False),
    Column("employee_id", Id, nullable=False),
    Column("state", Text, nullable=False),
    Index("ix_kpi_client_state_employee", "employee_id"),
)

# Keyed measure first, then time: a read is one range per measure, whatever the owners.
kpi_owner_day = Table(
    "kpi_owner_day",
    metadata,
    Column("measure", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

kpi_owner_month = Table(
    "kpi_owner_month",
    metadata,
    Column("measure", String(40), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("employee_id", Id, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

kpi_client_base_meta = Table(
    "kpi_client_base_meta",
    metadata,
    Column("measure", String(40), primary_key=True),
    Column("built_at", UTCDateTime(), nullable=False),
)

CLIENT_BASE_TABLES = (kpi_client_state, kpi_owner_day, kpi_owner_month)
