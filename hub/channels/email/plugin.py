"""The e-mail channel as the hub sees it: `[email]`, IMAP capture adapters, SMTP senders."""

from __future__ import annotations

from hub.channels.email.bounce_folder import bounce_folder
from hub.channels.email.factory import build_adapters, build_sender, sender_accounts
from hub.channels.email.settings import EmailSettings
from hub.channels.plugin import ChannelPlugin, SenderFactory

PLUGIN = ChannelPlugin(
    name="email",
    section="email",
    settings_model=EmailSettings,
    build_adapters=build_adapters,
    senders_factory=SenderFactory(keys=sender_accounts, build=build_sender),
    bounce_source=bounce_folder,
)
