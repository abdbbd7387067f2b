"""Settings of the SMS channel: `[sms]` and one `[sms.gateways.NAME]` per gateway."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)

from hub.channels.sms.quiet_hours import parse_window
from hub.channels.sms.smpp_submit import LongMessages
from hub.model import known_zone
from hub.urls import mask_url

#: Defaults, named so that the code and the docs say the same thing.
DEFAULT_OPT_OUT_WORDS = ("STOP", "СТОП", "ОТПИСАТЬСЯ")
DEFAULT_OPT_OUT_REPLY = "Вы отписаны от SMS-рассылки. You are unsubscribed."
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_BASE_S = 1.0
DEFAULT_RETRY_MAX_S = 30.0
DEFAULT_BURST = 1
DEFAULT_PROBE_INTERVAL_S = 60.0
DEFAULT_WINDOW = 10
DEFAULT_ENQUIRE_LINK_S = 30.0
DEFAULT_OUTBOX_SCAN_S = 5.0
DEFAULT_OUTBOX_STALE_S = 300.0
#: A webhook token: long, and nothing that needs escaping in a URL.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._~-]{16,}")
#: URL schemes of each gateway kind.
SCHEMES = {"kannel": ("kannel",), "smpp": ("smpp", "smpps"), "http": ("http", "https")}
#: The URL scheme of an SMPP gateway reached over TLS.
SMPP_TLS_SCHEME = "smpps"


class GatewayKind(StrEnum):
    """How the hub talks to a gateway."""

    KANNEL = "kannel"  # smsbox's sendsms HTTP interface; reports and MO come to our webhooks
    SMPP = "smpp"  # one SMPP 3.4 transceiver bind
    HTTP = "http"  # an HTTP provider described by a profile (hub/channels/sms/profiles/)


class GatewaySettings(BaseModel):
    """One gateway: where it is, who we are to it, how fast we may send, our webhook token."""

    model_config = ConfigDict(extra="forbid")

    kind: GatewayKind
    url: str = Field(
        description="kannel://USER@HOST:PORT (sendsms), smpp://SYSTEM_ID@HOST:PORT "
        "(smpps:// over TLS), "
        "or the provider's https://[ACCOUNT@]HOST[:PORT] for kind http"
    )
    password: SecretStr | None = None
    sender: str = Field(min_length=1, description="source address (number or alphanumeric name)")
    dlr_secret: SecretStr | None = Field(
        default=None, description="shared token the gateway sends to our webhooks"
    )
    rate: float | None = Field(default=None, gt=0, description="messages per second; none = no limit")
    burst: int = Field(default=DEFAULT_BURST, ge=1, description="messages sent at once before the rate applies")
    smsc: str | None = Field(default=None, description="Kannel smsc-id to route through")
    window: int = Field(
        default=DEFAULT_WINDOW, ge=1, le=1000, description="SMPP: submit_sm outstanding at once"
    )
    system_type: str = Field(default="", max_length=12, description="SMPP: system_type of the bind")
    enquire_link_s: float = Field(
        default=DEFAULT_ENQUIRE_LINK_S, ge=0, description="SMPP: keep-alive interval; 0 = none"
    )
    long_messages: LongMessages = Field(
        default=LongMessages.UDH,
        description="SMPP: a long text as parts behind a UDH (udh), parts with SAR TLVs (sar), "
        "or one PDU with message_payload (payload), as the SMSC asks",
    )
    tls: bool = Field(default=False, description="SMPP: TLS around the bind (as smpps:// does)")
    tls_ca_file: str | None = Field(
        default=None, description="SMPP over TLS: PEM file of the authorities to trust; none = the system's"
    )
    tls_verify: bool = Field(
        default=True, description="SMPP over TLS: check the SMSC's certificate and name (off: encrypted only)"
    )
    profile: str | None = Field(
        default=None, description="kind http: a shipped profile's name or the path of a TOML profile"
    )
    allow_from: list[IPvAnyNetwork] = Field(
        default_factory=list, description="callbacks only from these addresses; empty = any"
    )
    resend_unknown: bool = Field(
        default=False,
        description="send again (once) a message left unknown by a process stopped before the "
        "gateway answered; default: keep it unknown, a later report resolves it",
    )
    enabled: bool = True

    @field_validator("dlr_secret")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # The token rides in URLs that Kannel expands (`%d`, `%T`, …): no `%`, no escapes.
        if value is not None and not TOKEN_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError("dlr_secret must be 16 or more of A-Z a-z 0-9 . _ ~ -")
        return value

    @model_validator(mode="after")
    def _url_matches_kind(self) -> GatewaySettings:
        parts = urlsplit(self.url)
        schemes = SCHEMES[self.kind.value]
        if self.kind is GatewayKind.HTTP:
            if parts.scheme not in schemes or not parts.hostname:
                raise ValueError(f"url {mask_url(self.url)} must look like https://HOST for kind http")
            if not self.profile:
                raise ValueError("kind http needs a profile (a shipped name or a TOML file)")
        elif parts.scheme not in schemes or not parts.hostname or not parts.username:
            raise ValueError(
                f"url {mask_url(self.url)} must look like {schemes[0]}://USER@HOST:PORT for kind {self.kind}"
            )
        if self.kind is not GatewayKind.SMPP and (self.tls or self.tls_ca_file is not None):
            raise ValueError("tls and tls_ca_file are for kind smpp (http gateways take https://)")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"url {mask_url(self.url)} has a bad port") from exc
        if port is None and self.kind is not GatewayKind.HTTP:
            raise ValueError(f"url {mask_url(self.url)} needs a port")
        return self

    @property
    def uses_tls(self) -> bool:
        """SMPP over TLS: asked by `tls = true` or by an smpps:// URL."""
        return self.tls or urlsplit(self.url).scheme == SMPP_TLS_SCHEME

    @property
    def masked_url(self) -> str:
        """The url as it may be printed."""
        return mask_url(self.url)


class SmsSettings(BaseModel):
    """`[sms]`: the default gateway, opt-out words, where gateways reach our webhooks."""

    model_config = ConfigDict(extra="forbid")

    default_gateway: str | None = None
    gateways: dict[str, GatewaySettings] = Field(default_factory=dict)
    public_url: str | None = Field(
        default=None,
        description="base URL at which gateways reach this hub's webhooks (http://HOST:PORT)",
    )
    opt_out_words: list[str] = Field(default_factory=lambda: list(DEFAULT_OPT_OUT_WORDS))
    opt_out_reply: str | None = Field(
        default=DEFAULT_OPT_OUT_REPLY, description="confirmation sent on opt-out; none = silent"
    )
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=10)
    retry_base_s: float = Field(default=DEFAULT_RETRY_BASE_S, ge=0)
    retry_max_s: float = Field(default=DEFAULT_RETRY_MAX_S, ge=0)
    quiet_hours: str | None = Field(
        default=None,
        description="HH:MM-HH:MM in the recipient's zone: non-urgent SMS are held then (e.g. 21:00-09:00)",
    )
    company_timezone: Annotated[str, AfterValidator(known_zone)] | None = Field(
        default=None, description="zone for numbers whose own is ambiguous; unset = [kpi] timezone"
    )
    probe_interval_s: float = Field(
        default=DEFAULT_PROBE_INTERVAL_S, gt=0, description="how often health asks each gateway"
    )
    outbox_scan_s: float = Field(
        default=DEFAULT_OUTBOX_SCAN_S, gt=0, description="how often held and unanswered messages are looked at"
    )
    outbox_stale_s: float = Field(
        default=DEFAULT_OUTBOX_STALE_S,
        gt=0,
        description="a message another process submitted and got no answer for this long: "
        "its process is gone, the message is unknown (longer than any send may wait)",
    )

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("public_url must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value

    @model_validator(mode="after")
    def _default_is_known(self) -> SmsSettings:
        if self.default_gateway is not None and self.default_gateway not in self.gateways:
            known = ", ".join(sorted(self.gateways)) or "none"
            raise ValueError(
                f"default_gateway {self.default_gateway!r} is not configured (gateways: {known})"
            )
        return self

    def gateway_name(self, name: str | None) -> str:
        """`name`, or the default gateway, or the only one; else a `ValueError` that says why."""
        if name is not None:
            return name
        if self.default_gateway is not None:
            return self.default_gateway
        if not self.gateways:
            raise ValueError("no SMS gateway is configured ([sms.gateways.NAME])")
        if len(self.gateways) == 1:
            return next(iter(self.gateways))
        raise ValueError("several SMS gateways and no [sms] default_gateway: name one")
