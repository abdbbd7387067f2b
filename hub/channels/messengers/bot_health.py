"""Health of one messenger account (a bot, a number): the adapter's usual state plus what a
messenger adds — its mode, whether its webhook is registered, when the last update came."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.model import AdapterHealth


@dataclass(slots=True, kw_only=True)
class BotHealth(AdapterHealth):
    """Adapter health plus what a bot adds: its mode and whether its webhook is registered."""

    mode: str = "polling"
    webhook_registered: bool = False
    webhook_url: str | None = None
    last_update_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = AdapterHealth.as_dict(self)
        data.update(
            mode=self.mode,
            webhook_registered=self.webhook_registered,
            webhook_url=self.webhook_url,
            last_update_at=self.last_update_at.isoformat() if self.last_update_at else None,
            **self.details,
        )
        return data
