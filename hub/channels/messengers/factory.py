"""Wiring from `[messengers]` settings to bots: capture adapters and senders (the only place)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TypeVar

from hub.backoff import BackoffPolicy
from hub.channels.messengers.bot_health import BotHealth
from hub.channels.messengers.link_token import contact_token, deep_link, verify_contact_token
from hub.channels.messengers.send_limits import SendLimits
from hub.channels.messengers.sender_keys import (
    TELEGRAM,
    VIBER,
    VK,
    WHATSAPP,
    bot_names,
    enabled,
)
from hub.channels.messengers.settings import (
    BotMode,
    MessengersSettings,
    TelegramBotSettings,
    ViberSettings,
    VkSettings,
)
from hub.channels.messengers.telegram_capture import PollPlan, TelegramCapture
from hub.channels.messengers.telegram_client import bot_username, make_bot
from hub.channels.messengers.telegram_ingest import UpdateIngest
from hub.channels.messengers.telegram_sender import BotHooks, TelegramSender, webhook_inbox
from hub.channels.messengers.telegram_updates import TokenReader, source_of
from hub.channels.messengers.viber_payload import source_of as viber_source
from hub.channels.messengers.viber_sender import ViberApi, ViberSender, callback_inbox
from hub.channels.messengers.vk_payload import source_of as vk_source
from hub.channels.messengers.vk_sender import (
    CONFIRMED_KEY,
    CommunityHooks,
    VkApi,
    VkSender,
    event_inbox,
)
from hub.channels.messengers.webhook_inbox import WEBHOOK_KEY
from hub.channels.messengers.webhook_monitor import WebhookMonitor
from hub.channels.messengers.whatsapp_monitor import GraphProbe
from hub.channels.messengers.whatsapp_sender import (
    SUBSCRIBED_KEY,
    NumberHooks,
    WhatsAppSender,
    notification_inbox,
)
from hub.errors import ConfigError
from hub.model import CaptureAdapter, Sender, Sink

S = TypeVar("S", VkSettings, ViberSettings)

WEBHOOK_PATH = "/hooks/messengers/telegram/{name}"
VIBER_WEBHOOK_PATH = "/hooks/messengers/viber/{name}"


def bot_settings(settings: MessengersSettings, name: str) -> TelegramBotSettings:
    try:
        return settings.telegram[name]
    except KeyError:
        known = ", ".join(sorted(settings.telegram)) or "none"
        raise ConfigError(f"no [messengers.telegram.{name}] (configured: {known})") from None


def token_reader(settings: MessengersSettings) -> TokenReader | None:
    """Reads /start tokens with the hub's link secret; None when no secret is configured."""
    if settings.link_secret is None:
        return None
    return partial(verify_contact_token, settings.link_secret.get_secret_value().encode())


def webhook_url(settings: MessengersSettings, name: str) -> str | None:
    """Where Telegram posts the updates of bot `name`."""
    if settings.public_url is None:
        return None
    return settings.public_url + WEBHOOK_PATH.format(name=name)


def _ingest(settings: MessengersSettings, name: str, health: BotHealth) -> UpdateIngest:
    bot = bot_settings(settings, name)
    return UpdateIngest(
        bot_name=name,
        bot=make_bot(bot),
        health=health,
        read_token=token_reader(settings),
        files_dir=bot.files_dir,
    )


def build_capture(settings: MessengersSettings, name: str) -> TelegramCapture:
    """The capture adapter of bot `name` (``telegram:NAME``)."""
    bot = bot_settings(settings, name)
    health = BotHealth(name=source_of(name))
    ingest = _ingest(settings, name, health)
    return TelegramCapture(
        bot_name=name,
        bot=ingest.bot,
        ingest=ingest,
        health=health,
        mode=bot.mode,
        poll=PollPlan(limit=bot.poll_limit, wait_s=bot.poll_timeout_s),
        retry=BackoffPolicy(initial_s=settings.retry_base_s, max_s=settings.retry_max_s),
        webhook_url=webhook_url(settings, name),
        webhook_secret=bot.webhook_secret.get_secret_value() if bot.webhook_secret else None,
        webhook_check_s=settings.webhook_check_s,
    )


def build_monitor(settings: MessengersSettings, name: str) -> WebhookMonitor:
    """The health adapter of WhatsApp number `name` (``whatsapp:NAME``)."""
    number = settings.whatsapp[name]
    source = f"{WHATSAPP}:{name}"
    probe = GraphProbe(
        source=source,
        phone_number_id=number.phone_number_id,
        api_url=number.api_url,
        access_token=number.access_token.get_secret_value() if number.access_token else None,
        timeout_s=number.timeout_s,
    )
    return WebhookMonitor(
        source=source,
        probe=probe,
        registered_key=SUBSCRIBED_KEY,
        check_s=settings.webhook_check_s,
        retry=_retry(settings),
    )


def _retry(settings: MessengersSettings) -> BackoffPolicy:
    return BackoffPolicy(initial_s=settings.retry_base_s, max_s=settings.retry_max_s)


def _account(accounts: Mapping[str, S], platform: str, name: str) -> S:
    try:
        return accounts[name]
    except KeyError:
        known = ", ".join(sorted(accounts)) or "none"
        raise ConfigError(f"no [messengers.{platform}.{name}] (configured: {known})") from None


def vk_api(settings: MessengersSettings, name: str) -> VkApi | None:
    """The VK API of community `name` with its token; None when it has no token."""
    community = _account(settings.vk, VK, name)
    if community.access_token is None:
        return None
    return VkApi(
        source=vk_source(name),
        api_url=community.api_url,
        access_token=community.access_token.get_secret_value(),
        version=community.api_version,
        timeout_s=community.timeout_s,
    )


def viber_api(settings: MessengersSettings, name: str) -> ViberApi:
    """The Viber API of bot `name`, with the URL set_webhook gives Viber (when known)."""
    bot = _account(settings.viber, VIBER, name)
    url = settings.public_url + VIBER_WEBHOOK_PATH.format(name=name) if settings.public_url else None
    return ViberApi(
        source=viber_source(name),
        api_url=bot.api_url,
        auth_token=bot.auth_token.get_secret_value(),
        timeout_s=bot.timeout_s,
        webhook_url=url,
    )


async def _no_probe() -> bool | None:
    return None


def build_vk_monitor(settings: MessengersSettings, name: str) -> WebhookMonitor:
    """The health adapter of VK community `name` (``vk:NAME``)."""
    api = vk_api(settings, name)
    return WebhookMonitor(
        source=vk_source(name),
        probe=api.probe if api is not None else _no_probe,
        registered_key=CONFIRMED_KEY,
        check_s=settings.webhook_check_s,
        retry=_retry(settings),
    )


def build_viber_monitor(settings: MessengersSettings, name: str) -> WebhookMonitor:
    """The health adapter of Viber bot `name` (``viber:NAME``): set_webhook, then watched."""
    api = viber_api(settings, name)
    return WebhookMonitor(
        source=viber_source(name),
        probe=api.probe,
        registered_key=WEBHOOK_KEY,
        check_s=settings.webhook_check_s,
        retry=_retry(settings),
        register=api.register if api.webhook_url is not None else None,
        webhook_url=api.webhook_url,
    )


def build_adapters(settings: MessengersSettings) -> list[CaptureAdapter]:
    """An adapter per enabled bot, a health monitor per enabled webhook-fed account."""
    bots: list[CaptureAdapter] = [build_capture(settings, name) for name in bot_names(settings)]
    numbers = [build_monitor(settings, n) for n in enabled(settings.whatsapp)]
    communities = [build_vk_monitor(settings, n) for n in enabled(settings.vk)]
    vibers = [build_viber_monitor(settings, n) for n in enabled(settings.viber)]
    return bots + numbers + communities + vibers


def build_vk_sender(settings: MessengersSettings, name: str, sink: Sink | None) -> VkSender:
    """The sender (and webhook inbox) of VK community `name`."""
    community = _account(settings.vk, VK, name)
    hooks = CommunityHooks(
        account=name,
        group_id=community.group_id,
        secret=community.secret.get_secret_value(),
        confirmation=community.confirmation.get_secret_value(),
    )
    return VkSender(
        hooks=hooks,
        inbox=event_inbox(hooks, sink, community.webhook_queue),
        api=vk_api(settings, name),
        sink=sink,
        timeout_s=community.timeout_s,
        max_attempts=community.max_attempts,
        retry=BackoffPolicy(initial_s=community.retry_base_s, max_s=max(community.retry_base_s * 8, 1.0)),
    )


def build_viber_sender(settings: MessengersSettings, name: str, sink: Sink | None) -> ViberSender:
    """The sender (and webhook inbox) of Viber bot `name`."""
    bot = _account(settings.viber, VIBER, name)
    return ViberSender(
        account=name,
        api=viber_api(settings, name),
        inbox=callback_inbox(viber_source(name), sink, bot.webhook_queue),
        sender_name=bot.sender_name,
        sender_avatar=bot.sender_avatar,
        sink=sink,
        max_age_s=bot.max_age_s,
    )


def build_whatsapp_sender(settings: MessengersSettings, name: str, sink: Sink | None) -> WhatsAppSender:
    """The sender (and webhook inbox) of WhatsApp number `name`."""
    try:
        number = settings.whatsapp[name]
    except KeyError:
        known = ", ".join(sorted(settings.whatsapp)) or "none"
        raise ConfigError(f"no [messengers.whatsapp.{name}] (configured: {known})") from None
    hooks = NumberHooks(
        account=name,
        app_secret=number.app_secret.get_secret_value(),
        verify_token=number.verify_token.get_secret_value(),
        phone_number_id=number.phone_number_id,
        max_age_s=number.max_age_s,
    )
    return WhatsAppSender(
        hooks=hooks,
        inbox=notification_inbox(hooks, sink, number.webhook_queue),
        api_url=number.api_url,
        access_token=number.access_token.get_secret_value() if number.access_token else None,
        sink=sink,
        timeout_s=number.timeout_s,
    )


def build_sender(settings: MessengersSettings, key: str, sink: Sink | None = None) -> Sender:
    """The sender ``telegram:NAME`` (or just ``NAME``), ``whatsapp:NAME``, ``vk:NAME`` or
    ``viber:NAME``; with `sink` it records its touches."""
    platform, _, name = key.rpartition(":")
    if platform == WHATSAPP:
        return build_whatsapp_sender(settings, name, sink)
    if platform == VK:
        return build_vk_sender(settings, name, sink)
    if platform == VIBER:
        return build_viber_sender(settings, name, sink)
    if platform not in ("", TELEGRAM):
        raise ConfigError(
            f"messenger {platform!r} is not configured here ({TELEGRAM}, {WHATSAPP}, {VK}, {VIBER})"
        )
    return build_telegram_sender(settings, name, sink)


def build_telegram_sender(settings: MessengersSettings, name: str, sink: Sink | None) -> TelegramSender:
    """The sender (and webhook inbox) of Telegram bot `name`."""
    bot = bot_settings(settings, name)
    health = BotHealth(name=source_of(name), mode=bot.mode.value)
    ingest = _ingest(settings, name, health)
    secret = (
        bot.webhook_secret.get_secret_value()
        if bot.mode is BotMode.WEBHOOK and bot.webhook_secret
        else None
    )
    return TelegramSender(
        bot_name=name,
        bot=ingest.bot,
        hooks=BotHooks(bot=name, secret=secret),
        inbox=webhook_inbox(ingest, sink, bot.webhook_queue),
        health=health,
        sink=sink,
        limits=SendLimits(
            per_chat_rate=bot.per_chat_rate,
            per_chat_burst=bot.per_chat_burst,
            global_rate=bot.global_rate,
            global_burst=bot.global_burst,
        ),
        max_attempts=bot.max_attempts,
        max_retry_after_s=bot.max_retry_after_s,
    )


def bot_name_of(settings: MessengersSettings, name: str | None) -> str:
    """`name`, or the only bot; a `ConfigError` that says why otherwise."""
    if name is not None:
        bot_settings(settings, name)
        return name
    names = bot_names(settings)
    if len(names) == 1:
        return names[0]
    if not names:
        raise ConfigError("no Telegram bot is configured ([messengers.telegram.NAME])")
    raise ConfigError(f"several Telegram bots ({', '.join(names)}): name one")


async def contact_link(settings: MessengersSettings, contact_id: int, name: str | None = None) -> str:
    """The t.me deep link that links whoever opens it to contact `contact_id` (signed)."""
    if settings.link_secret is None:
        raise ConfigError("[messengers] link_secret is not set: deep links cannot be signed")
    bot = bot_name_of(settings, name)
    username = await bot_username(bot_settings(settings, bot), source_of(bot))
    token = contact_token(settings.link_secret.get_secret_value().encode(), contact_id)
    return deep_link(username, token)
