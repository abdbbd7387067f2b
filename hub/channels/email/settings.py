"""Settings of the e-mail adapter: `[email]` and one `[email.accounts.NAME]` per mailbox."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

#: Defaults, named so that the code and the docs say the same thing.
DEFAULT_HORIZON_DAYS = 90
DEFAULT_FETCH_BATCH = 50  # letters per UID FETCH; aioimaplib rescans a response per chunk (O(n²))
DEFAULT_PREVIEW_BYTES = 4096  # bytes of the text part fetched for the preview
DEFAULT_POLL_INTERVAL_S = 60.0
DEFAULT_IDLE_RENEW_S = 600.0  # servers drop IDLE after 30 min; renew well before
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_SMTP_POOL_SIZE = 4
DEFAULT_SMTP_MAX_ATTEMPTS = 3
DEFAULT_SMTP_RETRY_BASE_S = 1.0
DEFAULT_RECONNECT_INITIAL_S = 1.0
DEFAULT_RECONNECT_MAX_S = 300.0


class AccountSettings(BaseModel):
    """One mailbox: where to read it, where to send from, which addresses are its own."""

    model_config = ConfigDict(extra="forbid")

    imap: str | None = Field(
        default=None, description="imap://USER@HOST:PORT, imap+starttls://, imaps://"
    )
    smtp: str | None = Field(
        default=None, description="smtp+starttls://USER@HOST:PORT, smtp://, smtps://"
    )
    password: SecretStr | None = None
    addresses: list[str] = Field(default_factory=list)
    enabled: bool = True
    sent_folder: str | None = Field(
        default=None, description="Sent folder name when the server has no SPECIAL-USE \\Sent"
    )
    folders: list[str] = Field(default_factory=list, description="extra folders to capture")
    append_to_sent: bool = Field(default=False, description="IMAP APPEND each sent letter to Sent")
    bounce_address: str | None = Field(
        default=None, description="VERP base, e.g. bounces@acme.ru → bounces+ID=HOST@acme.ru"
    )
    tls_ca_file: str | None = Field(
        default=None, description="extra CA bundle (self-signed servers)"
    )


class EmailSettings(BaseModel):
    """Company-wide e-mail settings and the accounts."""

    model_config = ConfigDict(extra="forbid")

    company_domains: list[str] = Field(default_factory=list)
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)
    horizon_days: int | None = Field(
        default=DEFAULT_HORIZON_DAYS, ge=1, description="first sync reads this far back; none = all"
    )
    fetch_batch: int = Field(default=DEFAULT_FETCH_BATCH, ge=1, le=1000)
    preview_bytes: int = Field(default=DEFAULT_PREVIEW_BYTES, ge=256)
    poll_interval_s: float = Field(default=DEFAULT_POLL_INTERVAL_S, gt=0)
    idle_renew_s: float = Field(default=DEFAULT_IDLE_RENEW_S, gt=0)
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    reconnect_initial_s: float = Field(default=DEFAULT_RECONNECT_INITIAL_S, gt=0)
    reconnect_max_s: float = Field(default=DEFAULT_RECONNECT_MAX_S, gt=0)
    attachments_dir: str | None = Field(default=None, description="save attachments here")
    attachment_max_bytes: int = Field(default=DEFAULT_ATTACHMENT_MAX_BYTES, ge=0)
    smtp_pool_size: int = Field(default=DEFAULT_SMTP_POOL_SIZE, ge=1, le=32)
    smtp_max_attempts: int = Field(default=DEFAULT_SMTP_MAX_ATTEMPTS, ge=1, le=10)
    smtp_retry_base_s: float = Field(default=DEFAULT_SMTP_RETRY_BASE_S, ge=0)
    message_id_domain: str | None = Field(
        default=None, description="right side of our Message-IDs; default: the sender's domain"
    )
