"""Settings of the KPI module: `[kpi]`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.model import known_zone


class KpiSettings(BaseModel):
    """Company time zone, working calendar and where extra indicator definitions live."""

    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, AfterValidator(known_zone)] = "Europe/Moscow"
    weekends: list[int] = Field(default_factory=lambda: [5, 6], description="0 = Monday")
    holidays: list[str] = Field(default_factory=list, description="ISO dates")
    indicators_file: str | None = None
    required_contact_fields: list[str] = Field(default_factory=lambda: ["email", "phone", "city"])
    forgotten_after_days: int = 30
