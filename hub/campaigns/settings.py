"""Settings of mass mailings: `[campaigns]` (the signing secret, the bounce return path and mailbox)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: Key ids ride in unsubscribe links: short, URL-safe, no dot (the token's separator).
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
#: Shortest secret accepted: 32 characters (e.g. `openssl rand -base64 32` gives 44).
MIN_SECRET_CHARS = 32
#: How often the bounce mailbox is read when the hub runs (seconds).
DEFAULT_BOUNCE_POLL_S = 300.0


class CampaignSettings(BaseModel):
    """`[campaigns]`: what signs unsubscribe links and VERP addresses, and where DSNs arrive."""

    model_config = ConfigDict(extra="forbid")

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
