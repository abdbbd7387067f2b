"""Settings of the KPI module: `[kpi]`."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def known_zone(name: str) -> str:
    """`name` if it is a time zone this machine knows (IANA, e.g. Europe/Moscow); checked
    when the config is read, so that a typo is one clear line, not a failure at first use."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Moscow") from exc
    return name


#: A time zone name, checked.
ZoneName = Annotated[str, AfterValidator(known_zone)]


class KpiSettings(BaseModel):
    """Company time zone, working calendar and where extra indicator definitions live."""

    model_config = ConfigDict(extra="forbid")

    timezone: ZoneName = "Europe/Moscow"
    weekends: list[int] = Field(default_factory=lambda: [5, 6], description="0 = Monday")
    holidays: list[str] = Field(default_factory=list, description="ISO dates")
    indicators_file: str | None = None
    required_contact_fields: list[str] = Field(default_factory=lambda: ["email", "phone", "city"])
    forgotten_after_days: int = 30
