"""The tables of the activity store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times are stored as naive UTC (`UTCDateTime` converts at the boundary), so range
queries compare the same way on both databases. Migrations in `migrations/` create
these tables; this module is what the code queries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

#: Integer primary keys: 64-bit on PostgreSQL, SQLite's rowid alias on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        result: datetime = value.replace(tzinfo=UTC)
        return result


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


organizations = Table(
    "organizations",
    metadata,
    _id(),
    Column("name", String(300), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("name"),
)

employees = Table(
    "employees",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("position", String(200)),
    Column("head_id", Id, ForeignKey("employees.id", ondelete="SET NULL")),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_employees_head_id", "head_id"),
)

employee_addresses = Table(
    "employee_addresses",
    metadata,
    _id(),
    Column("employee_id", Id, ForeignKey("employees.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    UniqueConstraint("kind", "value"),
    Index("ix_employee_addresses_employee_id", "employee_id"),
)

contacts = Table(
    "contacts",
    metadata,
    _id(),
    Column("name", String(300), nullable=False),
    Column("organization_id", Id, ForeignKey("organizations.id", ondelete="SET NULL")),
    Column("position", String(200)),
    Column("region", String(200)),
    Column("city", String(200)),
    Column("importance", String(50)),
    Column("segment", String(50)),
    Column("custom", JSON, nullable=False, default=dict),
    Column("is_lead", Boolean, nullable=False, default=False),
    Column("owner_employee_id", Id, ForeignKey("employees.id", ondelete="SET NULL")),
    Column("merged_into_id", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("created_from", String(400)),  # "kind:value" of the address a lead was made from
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_contacts_name", "name"),
    Index("ix_contacts_owner_employee_id", "owner_employee_id"),
    Index("ix_contacts_organization_id", "organization_id"),
)

identities = Table(
    "identities",
    metadata,
    _id(),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    Column("bouncing_at", UTCDateTime()),
    Column("bounce_detail", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("kind", "value"),
    Index("ix_identities_contact_id", "contact_id"),
)

contact_merges = Table(
    "contact_merges",
    metadata,
    _id(),
    Column("source_contact_id", Id, nullable=False),
    Column("target_contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("merged_at", UTCDateTime(), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("merged_by", String(200)),  # the principal's name; None before 0005
    Column("undone_at", UTCDateTime()),
    Column("undone_by", String(200)),
)

activities = Table(
    "activities",
    metadata,
    _id(),
    Column("source", String(200), nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("answered_at", UTCDateTime()),
    Column("ended_at", UTCDateTime()),
    Column("duration_s", Float),
    Column("ring_s", Float),
    Column("talk_s", Float),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("employee_id", Id, ForeignKey("employees.id", ondelete="SET NULL")),
    Column("counterpart", String(320)),
    Column("subject", Text),
    Column("preview", Text),
    Column("thread_key", String(500)),
    Column("due_at", UTCDateTime()),
    Column("completed_at", UTCDateTime()),
    Column("result", Text),
    Column("is_client", Boolean, nullable=False),
    Column("flags", String(200), nullable=False, default=""),
    Column("meta", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("source", "external_id", name="uq_activities_source_external_id"),
    Index("ix_activities_employee_occurred", "employee_id", "occurred_at"),
    Index("ix_activities_contact_occurred", "contact_id", "occurred_at"),
    Index("ix_activities_occurred", "occurred_at"),
    Index("ix_activities_counterpart", "counterpart"),
    Index("ix_activities_thread_key", "thread_key"),
)

activity_participants = Table(
    "activity_participants",
    metadata,
    Column("activity_id", Id, ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_activity_participants_contact_id", "contact_id"),
)

status_history = Table(
    "status_history",
    metadata,
    _id(),
    Column("activity_id", Id, ForeignKey("activities.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("detail", Text),
    Index("ix_status_history_activity_id", "activity_id"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    _id(),
    Column("source", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("external_id", String(500)),
    Column("digest", String(64), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("source", "digest", name="uq_quarantine_source_digest"),
)

api_users = Table(
    "api_users",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("employee_id", Id, ForeignKey("employees.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("name"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    Column("user_id", Id, ForeignKey("api_users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    UniqueConstraint("token_hash"),
)

#: The activity columns the projections read: what a write path reports to its unit of
#: work (`ActivityStore.writing`) for every activity it changes, as it was and as it is.
ROLLUP_COLUMNS = (
    "id",
    "channel",
    "direction",
    "status",
    "occurred_at",
    "employee_id",
    "contact_id",
    "counterpart",
    "is_client",
    "duration_s",
    "talk_s",
    "due_at",
    "completed_at",
    "result",
    "meta",
)

# Segments, templates and what campaigns must not send to (migration 0004).

contact_tags = Table(
    "contact_tags",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Index("ix_contact_tags_tag", "tag"),
)

#: An address a channel must not send to (unsubscribed, bounced, complained); lifted when
#: the person opts in again. `address` is normalised like `identities.value`.
suppressions = Table(
    "suppressions",
    metadata,
    _id(),
    Column("channel", String(16), nullable=False),
    Column("address", String(320), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("lifted_at", UTCDateTime()),
    # who and what made it, who lifted it (migration 0011)
    Column("campaign_id", Id),
    Column("contact_id", Id),
    Column("created_by", String(200)),
    Column("lifted_by", String(200)),
    Index("ix_suppressions_channel_address", "channel", "address"),
    Index(
        "uq_suppressions_active",
        "channel",
        "address",
        unique=True,
        sqlite_where=text("lifted_at IS NULL"),
        postgresql_where=text("lifted_at IS NULL"),
    ),
)

#: Bounces of campaign recipients, each once (`event_key`): "hard" ones suppress the
#: address, "soft" ones are counted. The campaign engine joins them to its recipients.
campaign_bounces = Table(
    "campaign_bounces",
    metadata,
    _id(),
    Column("campaign_id", Id, nullable=False),
    Column("recipient_id", Id, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", String(320), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("status", String(16)),
    Column("smtp_code", Integer),
    Column("diagnostic", Text),
    Column("message_id", String(255)),
    Column("origin", String(16), nullable=False),
    Column("event_key", String(64), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("event_key"),
    Index("ix_campaign_bounces_campaign_recipient", "campaign_id", "recipient_id"),
)

segments = Table(
    "segments",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("name"),
)

templates = Table(
    "templates",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("name"),
)

#: Every saved text of a template; a campaign pins one version, so editing never
#: changes what a running campaign sends.
template_versions = Table(
    "template_versions",
    metadata,
    _id(),
    Column("template_id", Id, ForeignKey("templates.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("subject", Text),
    Column("html", Text),
    Column("text", Text),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("template_id", "version", name="uq_template_versions_template_version"),
)

# Campaigns (migration 0008): a campaign, its recipient snapshot, the workers sending it.

#: A mailing: what (template version), to whom (segment), through what (sender), when.
campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("template_id", Id, ForeignKey("templates.id", ondelete="RESTRICT"), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("segment_id", Id, ForeignKey("segments.id", ondelete="SET NULL")),
    Column("segment", JSON, nullable=False),  # the filter used (a saved one is copied at start)
    Column("sender", String(100), nullable=False),  # "{channel}:{key}" of SENDERS
    Column("schedule", String(16), nullable=False),  # now | at | local_hour
    Column("send_at", UTCDateTime()),
    Column("local_hour", Integer),
    Column("throttle_per_s", Float),
    Column("state", String(16), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("name"),
)

#: One row per contact of the snapshot; `state` moves pending → sending → sent / deferred /
#: failed / bounced / unknown, or is `skipped` from the start with a `reason`.
campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    _id(),
    # No foreign keys here: PostgreSQL checks one with a trigger per inserted row, which made
    # a 100,000-row snapshot several times slower than the statement's own work. Campaigns
    # are cancelled, never deleted; a deleted contact leaves its recipient row as it was.
    Column("campaign_id", Id, nullable=False),
    Column("contact_id", Id),
    Column("address", String(320)),
    Column("tz", String(64)),
    Column("state", String(16), nullable=False),
    Column("reason", String(32)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("worker_id", Id),
    Column("message_id", String(500)),
    Column("code", Integer),
    Column("detail", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_campaign_recipients_claim", "campaign_id", "state", "due_at"),
    Index("ix_campaign_recipients_campaign_id_id", "campaign_id", "id"),
)

#: A worker process sending campaigns; `seen_at` is its heartbeat. Rows left `sending` by a
#: worker not seen for the lease are `unknown`.
campaign_workers = Table(
    "campaign_workers",
    metadata,
    _id(),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("seen_at", UTCDateTime(), nullable=False),
)

# Triggered notifications (migration 0012): rules and each event they fired on, once.

#: "On event → send template to the contact": `kind` is missed_call | due_tomorrow |
#: field_value | date_reached with its `params`; every send goes through the rule's own
#: campaign (`campaign_id`), so the engine's claim, suppressions and touches apply.
trigger_rules = Table(
    "trigger_rules",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("template_id", Id, ForeignKey("templates.id", ondelete="RESTRICT"), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("sender", String(100), nullable=False),
    Column("campaign_id", Id),
    Column("enabled", Boolean, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_run_at", UTCDateTime()),
    Column("last_error", Text),
    UniqueConstraint("name"),
)

#: One event a rule fired on: unique per (rule, event key), so replays, two processes and
#: restarts never fire twice. `recipient_id` is the campaign recipient row it queued
#: (null until queued: a field change is recorded at the write, queued by the next tick).
trigger_firings = Table(
    "trigger_firings",
    metadata,
    _id(),
    Column("rule_id", Id, ForeignKey("trigger_rules.id", ondelete="CASCADE"), nullable=False),
    Column("event_key", String(200), nullable=False),
    Column("contact_id", Id),
    Column("recipient_id", Id),
    Column("detail", Text),
    Column("fired_at", UTCDateTime(), nullable=False),
    Column("queued_at", UTCDateTime()),
    UniqueConstraint("rule_id", "event_key", name="uq_trigger_firings_rule_event"),
    Index("ix_trigger_firings_unqueued", "queued_at", "rule_id"),
)

# Call rounds (migration 0013, decision 0052): a campaign whose channel is the telephone.

#: A call round's own rules beside its `campaigns` row: how its items are spread over the
#: chosen employees, their working hours (minutes after local midnight) and the retries.
call_rounds = Table(
    "call_rounds",
    metadata,
    Column(
        "campaign_id",
        Id,
        ForeignKey("campaigns.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("spread", String(8), nullable=False),  # owner | even
    Column("employees", JSON, nullable=False),  # the chosen employee ids
    Column("starts_at", UTCDateTime()),  # the first due time (None: when started)
    Column("day_start", Integer, nullable=False),
    Column("day_end", Integer, nullable=False),
    Column("call_minutes", Integer, nullable=False),  # one employee's items this far apart
    Column("retry_minutes", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
)

#: One call to make: a contact of the segment given to an employee, due at a time, with
#: its rendered script. `activity_id` is the task it shows as on the contact's timeline;
#: `attempt_calls` the unanswered outbound calls counted as its attempts (each once).
call_round_items = Table(
    "call_round_items",
    metadata,
    _id(),
    Column("campaign_id", Id, nullable=False),
    Column("contact_id", Id, nullable=False),
    Column("employee_id", Id, nullable=False),
    Column("activity_id", Id),
    Column("number", String(64)),
    Column("state", String(16), nullable=False),  # open | done | not_reached | cancelled
    Column("attempts", Integer, nullable=False),
    Column("attempt_calls", JSON, nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("script", Text, nullable=False),
    Column("result", Text),
    Column("closed_by", Id),  # the answered call that closed it (None: by hand)
    Column("closed_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("campaign_id", "contact_id", name="uq_call_round_items_campaign_contact"),
    Index("ix_call_round_items_employee_state", "employee_id", "state"),
    Index("ix_call_round_items_contact_state", "contact_id", "state"),
)

# Messenger dialogs (migration 0007).

#: One messenger chat on one account: a projection of its messenger activities
#: (`rollups/dialogs.py`), kept in the same transaction. `read_at` (an employee marked it
#: read) and `reminder_id` (the task raised for its wait) are the two fields set apart
#: from the activities; a rebuild keeps them.
dialogs = Table(
    "dialogs",
    metadata,
    _id(),
    Column("source", String(200), nullable=False),
    Column("counterpart", String(320), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("messages", Integer, nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    Column("last_direction", String(16), nullable=False),
    Column("last_preview", Text),
    Column("last_in_at", UTCDateTime()),
    Column("last_out_at", UTCDateTime()),
    Column("waiting_since", UTCDateTime()),
    Column("unread", Integer, nullable=False),
    Column("read_at", UTCDateTime()),
    Column("reminder_id", Id),
    UniqueConstraint("source", "counterpart", name="uq_dialogs_source_counterpart"),
    Index("ix_dialogs_last_at", "last_at", "id"),
    Index("ix_dialogs_contact_id", "contact_id"),
    Index("ix_dialogs_waiting_since", "waiting_since"),
)

#: One row (id 1) whose `value` every committed write of the store raises by one, in the
#: same transaction (`hub.activity.generation`): readers that cache an answer key it by
#: this value, so any write makes them compute again (decision 0062).
store_generation = Table(
    "store_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)
