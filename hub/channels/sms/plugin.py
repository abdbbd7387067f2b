"""The SMS channel as the hub sees it: `[sms]`, a sender per gateway, the gateways' webhooks."""

from __future__ import annotations

from hub.channels.plugin import ChannelPlugin, SenderFactory
from hub.channels.sms import webhooks
from hub.channels.sms.factory import build_adapters, build_sender, gateway_names
from hub.channels.sms.settings import SmsSettings

PLUGIN = ChannelPlugin(
    name="sms",
    section="sms",
    settings_model=SmsSettings,
    build_adapters=build_adapters,
    senders_factory=SenderFactory(keys=gateway_names, build=build_sender),
    routes=lambda: webhooks.routes,
)
