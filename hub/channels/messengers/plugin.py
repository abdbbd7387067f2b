"""The messenger channel as the hub sees it: `[messengers]`, a capture adapter and a sender
per bot, the bots' webhooks.

Senders are keyed by platform and bot like the touches they record (``telegram:NAME``), not
``messengers:NAME``: `MessengerPlugin` keys them so, everything else is `ChannelPlugin`'s.
"""

from __future__ import annotations

from pydantic import BaseModel

from hub.channels.messengers import webhooks
from hub.channels.messengers.factory import build_adapters, build_sender, sender_keys
from hub.channels.messengers.settings import MessengersSettings
from hub.channels.plugin import ChannelPlugin, SenderFactory
from hub.model import Sender, Sink


class MessengerPlugin(ChannelPlugin[MessengersSettings]):
    """A `ChannelPlugin` whose sender keys already name their platform."""

    __slots__ = ()

    def senders(self, settings: BaseModel, sink: Sink | None) -> dict[str, Sender]:
        section = self.settings_of(settings)
        return {key: build_sender(section, key, sink) for key in sender_keys(section)}


PLUGIN = MessengerPlugin(
    name="messengers",
    section="messengers",
    settings_model=MessengersSettings,
    build_adapters=build_adapters,
    senders_factory=SenderFactory(keys=sender_keys, build=build_sender),
    routes=webhooks.routes,
)
