"""`[campaigns]`: how the campaign engine sends (batch, in-flight window, retries, leases)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Recipients claimed per statement.
DEFAULT_BATCH = 50
#: Messages offered to servers and not yet recorded, at most: what a crash can leave unknown.
DEFAULT_WINDOW = 200
#: A worker not seen for this long is gone; what it left `sending` becomes `unknown`.
DEFAULT_LEASE_S = 30.0
#: How often a worker says it is alive (well inside the lease).
DEFAULT_HEARTBEAT_S = 5.0
#: Deferred recipients: first retry after about this, doubling up to `retry_max_s`.
DEFAULT_RETRY_INITIAL_S = 60.0
DEFAULT_RETRY_MAX_S = 3600.0
#: Attempts of a recipient before a temporary failure becomes `failed`.
DEFAULT_MAX_ATTEMPTS = 8
#: How often an idle worker looks for newly due recipients or a resumed campaign.
DEFAULT_POLL_S = 5.0


class CampaignSettings(BaseModel):
    """The `[campaigns]` section; every key has a default."""

    model_config = ConfigDict(extra="forbid")

    company_name: str = Field(default="", max_length=200, description="{{ company.name }}")
    run_in_serve: bool = True
    batch_size: int = Field(default=DEFAULT_BATCH, ge=1, le=1000)
    window: int = Field(default=DEFAULT_WINDOW, ge=1, le=10_000)
    lease_s: float = Field(default=DEFAULT_LEASE_S, gt=0)
    heartbeat_s: float = Field(default=DEFAULT_HEARTBEAT_S, gt=0)
    retry_initial_s: float = Field(default=DEFAULT_RETRY_INITIAL_S, ge=0)
    retry_max_s: float = Field(default=DEFAULT_RETRY_MAX_S, ge=0)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100)
    poll_s: float = Field(default=DEFAULT_POLL_S, gt=0)
