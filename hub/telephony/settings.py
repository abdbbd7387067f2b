"""Settings of the telephony adapter: one `[telephony.pbx.NAME]` section per PBX."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_INTERNAL_PATTERN = r"^\d{2,4}$"
DEFAULT_TRUNK_PATTERN = r"(?i)^(SIP|PJSIP|IAX2)/(trunk|provider)|@from-trunk"
#: Four hours without an event and a call is closed as unclosed (its Hangup was lost).
DEFAULT_UNCLOSED_AFTER_MINUTES = 240
#: Channel the employee's phone is rung on for click-to-call; {extension} is filled in.
DEFAULT_ORIGINATE_CHANNEL = "PJSIP/{extension}"
DEFAULT_ORIGINATE_CONTEXT = "from-internal"
DEFAULT_ORIGINATE_TIMEOUT_S = 30


class PbxSettings(BaseModel):
    """One Asterisk PBX reached over AMI."""

    model_config = ConfigDict(extra="forbid")

    ami: str = Field(description="ami://USER@HOST:PORT")
    password: SecretStr = Field(
        description='AMI secret; write "env:VARIABLE" to read it from the environment'
    )
    internal_pattern: str = DEFAULT_INTERNAL_PATTERN
    trunk_pattern: str = DEFAULT_TRUNK_PATTERN
    trunk_context_pattern: str | None = None
    enabled: bool = True
    auth: Literal["md5", "plain"] = "md5"
    charset: str = Field(default="cp1251", description="fallback for non-UTF-8 caller names")
    event_filter: bool = Field(default=True, description="send AMI Filter actions at login")
    unclosed_after_minutes: int = Field(default=DEFAULT_UNCLOSED_AFTER_MINUTES, ge=1)
    originate_channel: str = DEFAULT_ORIGINATE_CHANNEL
    originate_context: str = DEFAULT_ORIGINATE_CONTEXT
    originate_timeout_s: int = Field(default=DEFAULT_ORIGINATE_TIMEOUT_S, ge=1)
    originate_callerid: str | None = Field(
        default=None,
        description='caller ID the client sees on click-to-call, e.g. "Acme" <+74950000000>; '
        "default: the employee's name and extension",
    )
    cdr: str | None = Field(
        default=None,
        description="Asterisk's call records for outage backfill: csv:/var/log/asterisk/"
        "cdr-csv/Master.csv, or the cdr table's database: postgresql://USER:PASSWORD@HOST/DB"
        " (?table=NAME; mysql:// with aiomysql installed)",
    )
    agi_listen: str | None = Field(default=None, description="HOST:PORT for the FastAGI router")


class TelephonySettings(BaseModel):
    """All PBXs, plus the missed-call policy."""

    model_config = ConfigDict(extra="forbid")

    pbx: dict[str, PbxSettings] = Field(default_factory=dict)
    callback_due_minutes: int = 30
    callback_window_hours: int = 24
