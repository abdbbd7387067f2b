"""Settings of the messenger channel: `[messengers]` and one `[messengers.<platform>.NAME]`
per account (telegram, whatsapp, vk, viber)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

#: Defaults, named so that the code and the docs say the same thing.
TELEGRAM_API_URL = "https://api.telegram.org"
DEFAULT_POLL_TIMEOUT_S = 25
DEFAULT_POLL_LIMIT = 100
#: Telegram's documented limits: about one message a second to one chat, 30 a second overall.
DEFAULT_PER_CHAT_RATE = 1.0
DEFAULT_PER_CHAT_BURST = 1
DEFAULT_GLOBAL_RATE = 30.0
DEFAULT_GLOBAL_BURST = 30
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ATTEMPTS = 3
#: A `RetryAfter` longer than this fails the send instead of holding the caller.
DEFAULT_MAX_RETRY_AFTER_S = 60.0
DEFAULT_RETRY_BASE_S = 1.0
DEFAULT_RETRY_MAX_S = 60.0
DEFAULT_WEBHOOK_CHECK_S = 60.0
DEFAULT_WEBHOOK_QUEUE = 1000
WHATSAPP_API_URL = "https://graph.facebook.com/v21.0"
#: Meta retries a webhook for up to seven days: anything older is a replay.
DEFAULT_WHATSAPP_MAX_AGE_S = 7 * 86400 + 3600
VK_API_URL = "https://api.vk.com/method"
#: The VK API version asked for (every call names one: ``v``).
VK_API_VERSION = "5.199"
VIBER_API_URL = "https://chatapi.viber.com/pa"
#: A Viber callback older than this is a replayed capture (Viber delivers within minutes).
DEFAULT_VIBER_MAX_AGE_S = 86400.0
#: Telegram's secret_token: 1-256 of A-Z a-z 0-9 _ -.
WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,256}")
#: A bot's token as BotFather gives it: digits, a colon, then letters.
TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")


class BotMode(StrEnum):
    """How a bot receives updates."""

    POLLING = "polling"  # getUpdates long polling; the offset is a checkpoint
    WEBHOOK = "webhook"  # Telegram POSTs to /hooks/messengers/telegram/NAME


class TelegramBotSettings(BaseModel):
    """One Telegram bot: its token, how it gets updates, how fast it may send."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr
    mode: BotMode = BotMode.POLLING
    username: str | None = Field(
        default=None, description="the bot's @username, for t.me links (asked with getMe if unset)"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="X-Telegram-Bot-Api-Secret-Token Telegram sends to our webhook"
    )
    files_dir: Path | None = Field(
        default=None, description="where photos, documents and voice are saved; none = ids only"
    )
    api_url: str = Field(default=TELEGRAM_API_URL, description="the Bot API server")
    poll_timeout_s: int = Field(default=DEFAULT_POLL_TIMEOUT_S, ge=0, le=50)
    poll_limit: int = Field(default=DEFAULT_POLL_LIMIT, ge=1, le=100)
    per_chat_rate: float = Field(default=DEFAULT_PER_CHAT_RATE, gt=0)
    per_chat_burst: int = Field(default=DEFAULT_PER_CHAT_BURST, ge=1)
    global_rate: float = Field(default=DEFAULT_GLOBAL_RATE, gt=0)
    global_burst: int = Field(default=DEFAULT_GLOBAL_BURST, ge=1)
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=10)
    max_retry_after_s: float = Field(default=DEFAULT_MAX_RETRY_AFTER_S, ge=0)
    webhook_queue: int = Field(default=DEFAULT_WEBHOOK_QUEUE, ge=1)
    enabled: bool = True

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError("token must look like 123456:ABC-def (as BotFather gives it)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError("webhook_secret must be 16-256 of A-Z a-z 0-9 _ -")
        return value

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("api_url must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramBotSettings:
        if self.mode is BotMode.WEBHOOK and self.webhook_secret is None:
            raise ValueError("mode = \"webhook\" needs a webhook_secret")
        return self


class WhatsAppSettings(BaseModel):
    """One WhatsApp Cloud API number: the app's webhook secrets, the number, the send token."""

    model_config = ConfigDict(extra="forbid")

    app_secret: SecretStr = Field(description="the Meta app's secret: X-Hub-Signature-256 key")
    verify_token: SecretStr = Field(description="what Meta sends back in the hub.challenge handshake")
    phone_number_id: str = Field(min_length=1, description="the business number's id")
    access_token: SecretStr | None = Field(default=None, description="Graph API token; none = receive only")
    api_url: str = Field(default=WHATSAPP_API_URL, description="the Graph API with its version")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    max_age_s: float = Field(
        default=DEFAULT_WHATSAPP_MAX_AGE_S, gt=0, description="older notifications are refused as replays"
    )
    webhook_queue: int = Field(default=DEFAULT_WEBHOOK_QUEUE, ge=1)
    enabled: bool = True

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("api_url must be an http:// or https:// URL")
        return value.rstrip("/")


def _http(value: str) -> str:
    if urlsplit(value).scheme not in ("http", "https"):
        raise ValueError("api_url must be an http:// or https:// URL")
    return value.rstrip("/")


class VkSettings(BaseModel):
    """One VK community: its Callback API server's confirmation string and secret key, the
    community token that sends."""

    model_config = ConfigDict(extra="forbid")

    group_id: int = Field(ge=1, description="the community's id (VK names it in every event)")
    confirmation: SecretStr = Field(description="the string VK expects back for the confirmation event")
    secret: SecretStr = Field(description="the Callback API secret key VK puts in every event")
    access_token: SecretStr | None = Field(default=None, description="community token; none = receive only")
    api_url: str = Field(default=VK_API_URL, description="the VK API's method URL")
    api_version: str = Field(default=VK_API_VERSION, pattern=r"^5\.[0-9]+$")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=10)
    retry_base_s: float = Field(default=DEFAULT_RETRY_BASE_S, ge=0, description="first wait after error 6")
    webhook_queue: int = Field(default=DEFAULT_WEBHOOK_QUEUE, ge=1)
    enabled: bool = True

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _http(value)


class ViberSettings(BaseModel):
    """One Viber bot: its authentication token (it sends and signs) and its sender name."""

    model_config = ConfigDict(extra="forbid")

    auth_token: SecretStr = Field(description="X-Viber-Auth-Token; also the key of the callbacks' signature")
    sender_name: str = Field(min_length=1, max_length=28, description="the bot's name shown to clients")
    sender_avatar: str | None = Field(default=None, description="URL of the bot's avatar")
    max_age_s: float = Field(
        default=DEFAULT_VIBER_MAX_AGE_S, gt=0, description="older callbacks are refused as replays"
    )
    api_url: str = Field(default=VIBER_API_URL, description="the Viber REST bot API")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    webhook_queue: int = Field(default=DEFAULT_WEBHOOK_QUEUE, ge=1)
    enabled: bool = True

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _http(value)


class MessengersSettings(BaseModel):
    """`[messengers]`: the bots, where Telegram reaches our webhooks, the link-token secret."""

    model_config = ConfigDict(extra="forbid")

    telegram: dict[str, TelegramBotSettings] = Field(default_factory=dict)
    whatsapp: dict[str, WhatsAppSettings] = Field(default_factory=dict)
    vk: dict[str, VkSettings] = Field(default_factory=dict)
    viber: dict[str, ViberSettings] = Field(default_factory=dict)
    public_url: str | None = Field(
        default=None, description="base URL at which Telegram reaches this hub (https://HOST)"
    )
    link_secret: SecretStr | None = Field(
        default=None, description="key of the signed contact tokens in /start deep links"
    )
    retry_base_s: float = Field(default=DEFAULT_RETRY_BASE_S, ge=0)
    retry_max_s: float = Field(default=DEFAULT_RETRY_MAX_S, ge=0)
    webhook_check_s: float = Field(
        default=DEFAULT_WEBHOOK_CHECK_S, gt=0, description="how often health asks getWebhookInfo"
    )

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("public_url must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("link_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("link_secret must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _webhooks_need_url(self) -> MessengersSettings:
        hooked = [n for n, b in self.telegram.items() if b.enabled and b.mode is BotMode.WEBHOOK]
        if hooked and self.public_url is None:
            raise ValueError(f"bot(s) {', '.join(hooked)} in webhook mode need [messengers] public_url")
        return self
