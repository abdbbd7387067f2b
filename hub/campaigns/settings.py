"""Settings of mass mailings: `[campaigns]` — how the engine sends (batch, in-flight window,
retries, leases), what signs unsubscribe links and VERP addresses, where DSNs arrive."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: Key ids ride in unsubscribe links: short, URL-safe, no dot (the token's separator).
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
#: Shortest secret accepted: 32 characters (e.g. `openssl rand -base64 32` gives 44).
MIN_SECRET_CHARS = 32
#: How often the bounce mailbox is read when the hub runs (seconds).
DEFAULT_BOUNCE_POLL_S = 300.0
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
    """`[campaigns]`; every key has a default."""

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

    secret: SecretStr | None = Field(
        default=None,
        description="signs unsubscribe links and VERP return paths (32+ characters; env: works)",
    )
    key_id: str = Field(default="1", description="names `secret` inside the links it signs")
    retired_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="key id → an earlier secret whose links still work after a rotation",
    )
    bounce_address: str | None = Field(
        default=None,
        description="VERP base: bounces@acme.ru → bounces+c12-r345-SIG@acme.ru per recipient",
    )
    bounce_mailbox: str | None = Field(
        default=None,
        description="ACCOUNT/FOLDER of [email.accounts.ACCOUNT] where DSNs arrive (e.g. bounces/INBOX)",
    )
    bounce_poll_s: float = Field(default=DEFAULT_BOUNCE_POLL_S, gt=0)
    unsubscribe_mailto: str | None = Field(
        default=None, description="an address that also unsubscribes (List-Unsubscribe mailto:)"
    )

    @field_validator("key_id")
    @classmethod
    def _key_id(cls, value: str) -> str:
        if not KEY_ID_PATTERN.match(value):
            raise ValueError("key_id must be 1-16 of A-Z a-z 0-9 _ -")
        return value

    @field_validator("retired_secrets")
    @classmethod
    def _retired(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, secret in value.items():
            if not KEY_ID_PATTERN.match(key_id):
                raise ValueError(f"retired key id {key_id!r} must be 1-16 of A-Z a-z 0-9 _ -")
            if len(secret.get_secret_value()) < MIN_SECRET_CHARS:
                raise ValueError(f"retired secret {key_id!r} is shorter than {MIN_SECRET_CHARS}")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(f"secret must be at least {MIN_SECRET_CHARS} characters")
        return value

    @field_validator("bounce_address", "unsubscribe_mailto")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or "+" in value.partition("@")[0]):
            raise ValueError("must be one plain address like bounces@acme.ru (no '+' in it)")
        return value

    @field_validator("bounce_mailbox")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        if value is not None:
            account, slash, folder = value.partition("/")
            if not account or not slash or not folder:
                raise ValueError("must be ACCOUNT/FOLDER, e.g. bounces/INBOX")
        return value
