"""Trigger rules: "on event → send template to the contact", checked and saved.

Four kinds (`TriggerKind`), each with its parameters:

- ``missed_call`` ``{"minutes": N}``: an inbound call with a contact was missed and no
  answered call with that contact (either way) followed within N minutes;
- ``due_tomorrow`` ``{}``: a planned interaction with a contact is due tomorrow in the
  company time zone (callback tasks aside);
- ``field_value`` ``{"field": F, "value": V}``: the contact's field F (a column of
  `WATCHED_COLUMNS` or ``custom.KEY``) became V, caught in the write that changed it;
- ``date_reached`` ``{"field": "custom.KEY"}``: the date in that custom field (ISO,
  ``2026-12-07`` or a time after it) is today in the company time zone.

A rule pins a template version and a sender like a campaign, and sends through a
campaign of its own (decision 0050), so exactly-once sending, suppressions and touches
are the engine's. `TriggerManager` holds the checks the CLI and the API share.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.activity import ActivityStore
from hub.activity.repos.base import checked_name
from hub.activity.repos.triggers import (
    WATCHED_COLUMNS,
    FiringRow,
    NewRule,
    RuleRow,
    TriggerKind,
)
from hub.campaigns.engine import template_of
from hub.campaigns.manager import CHANNELS, sender_key
from hub.errors import NotFound, ValidationError
from hub.templates import compile_template

#: The longest wait a missed-call rule may have (a week, in minutes).
MAX_MINUTES = 7 * 24 * 60
KINDS = tuple(k.value for k in TriggerKind)


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerSpec:
    """A rule as asked for (CLI options or an API body), not yet checked."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    channel: str = "email"
    template_id: int
    template_version: int | None = None
    sender: str
    enabled: bool = True


def _text(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"params.{key} is a non-empty text", field=f"params.{key}")
    return value.strip()


def check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a rule of `kind`, checked; refusals name ``params.KEY``."""
    if kind not in KINDS:
        raise ValidationError(f"kind {kind!r} is not one of {', '.join(KINDS)}", field="kind")
    allowed = {
        TriggerKind.MISSED_CALL.value: {"minutes"},
        TriggerKind.DUE_TOMORROW.value: set(),
        TriggerKind.FIELD_VALUE.value: {"field", "value"},
        TriggerKind.DATE_REACHED.value: {"field"},
    }[kind]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationError(
            f"a {kind} rule takes no params.{unknown[0]}", field=f"params.{unknown[0]}"
        )
    if kind == TriggerKind.MISSED_CALL.value:
        minutes = params.get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
            1 <= minutes <= MAX_MINUTES
        ):
            raise ValidationError(
                f"params.minutes is a whole number from 1 to {MAX_MINUTES}", field="params.minutes"
            )
        return {"minutes": minutes}
    if kind == TriggerKind.FIELD_VALUE.value:
        name = _text(params, "field")
        if name not in WATCHED_COLUMNS and not (
            name.startswith("custom.") and len(name) > len("custom.")
        ):
            known = ", ".join(WATCHED_COLUMNS)
            raise ValidationError(
                f"params.field is custom.KEY or one of {known}", field="params.field"
            )
        value = params.get("value")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValidationError("params.value is a text or a number", field="params.value")
        return {"field": name, "value": str(value)}
    if kind == TriggerKind.DATE_REACHED.value:
        name = _text(params, "field")
        if not name.startswith("custom.") or len(name) == len("custom."):
            raise ValidationError("params.field is custom.KEY", field="params.field")
        return {"field": name}
    return {}


class TriggerManager:
    """Create, list, enable, disable and delete rules; `senders` are the configured keys."""

    def __init__(self, store: ActivityStore, *, senders: Collection[str]) -> None:
        self.store = store
        self.repo = store.triggers
        self.senders = senders

    async def create(self, spec: TriggerSpec, *, created_by: str) -> RuleRow:
        """Check every part of `spec` and save the rule; refusals name the field."""
        name = checked_name(spec.name, "trigger")
        params = check_params(spec.kind, spec.params)
        if spec.channel not in {c.value for c in CHANNELS}:
            raise ValidationError(
                f"channel {spec.channel!r} cannot carry triggers (email, sms)", field="channel"
            )
        try:
            template = await self.store.templates.get(spec.template_id)
            version = await self.store.templates.version(spec.template_id, spec.template_version)
        except NotFound as exc:
            where = "template_id" if spec.template_version is None else "template_version"
            raise ValidationError(str(exc), field=where) from exc
        if template.channel != spec.channel:
            raise ValidationError(
                f"template {template.id} is a {template.channel} template, not {spec.channel}",
                field="template_id",
            )
        compile_template(template_of(version))  # a broken text is refused now
        sender = sender_key(spec.channel, spec.sender, self.senders)
        return await self.repo.create(
            NewRule(
                name=name,
                kind=spec.kind,
                params=params,
                channel=spec.channel,
                template_id=spec.template_id,
                template_version=version.version,
                sender=sender,
                enabled=spec.enabled,
                created_by=created_by,
            )
        )

    async def enable(self, rule_id: int) -> RuleRow:
        return await self.repo.set_enabled(rule_id, True)

    async def disable(self, rule_id: int) -> RuleRow:
        return await self.repo.set_enabled(rule_id, False)

    async def delete(self, rule_id: int) -> RuleRow:
        return await self.repo.delete(rule_id)

    async def firings(self, rule_id: int, *, after: int = 0, limit: int = 100) -> list[FiringRow]:
        await self.repo.get(rule_id)
        return await self.repo.firings(rule_id, after=after, limit=limit)

    async def described(self, rules: list[RuleRow]) -> list[dict[str, Any]]:
        """Rules as the CLI and the API show them: with their firings per state."""
        counts = await self.repo.firing_counts([r.id for r in rules])
        return [{**r.as_dict(), "firings": counts.get(r.id, {})} for r in rules]
