"""Which senders the messenger channel builds, named from the settings alone: reading the
config or listing senders must not load what sending needs (python-telegram-bot)."""

from __future__ import annotations

from collections.abc import Mapping

from hub.channels.messengers.settings import (
    MessengersSettings,
    ViberSettings,
    VkSettings,
    WhatsAppSettings,
)
from hub.channels.messengers.telegram_updates import source_of

#: The platforms this channel speaks, as the first part of a sender key (``telegram:NAME``).
TELEGRAM = "telegram"
WHATSAPP = "whatsapp"
VK = "vk"
VIBER = "viber"


def bot_names(settings: MessengersSettings) -> list[str]:
    """The enabled Telegram bots."""
    return [name for name, bot in settings.telegram.items() if bot.enabled]


def enabled(accounts: Mapping[str, VkSettings | ViberSettings | WhatsAppSettings]) -> list[str]:
    """The names of the enabled accounts."""
    return [name for name, account in accounts.items() if account.enabled]


def sender_keys(settings: MessengersSettings) -> list[str]:
    """Every sender this channel builds, keyed like its touches' source: ``telegram:NAME``,
    ``whatsapp:NAME``, ``vk:NAME``, ``viber:NAME``."""
    return (
        [source_of(name) for name in bot_names(settings)]
        + [f"{WHATSAPP}:{n}" for n in enabled(settings.whatsapp)]
        + [f"{VK}:{n}" for n in enabled(settings.vk)]
        + [f"{VIBER}:{n}" for n in enabled(settings.viber)]
    )
