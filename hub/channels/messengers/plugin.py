"""The messenger channel as the hub sees it: `[messengers]`, a capture adapter and a sender
per bot, the bots' webhooks.

Senders are keyed by platform and bot like the touches they record (``telegram:NAME``), not
``messengers:NAME``: `MessengerPlugin` keys them so, everything else is `ChannelPlugin`'s.

Reading the config loads every plug-in, so this module loads only the settings and the
sender keys; the adapters, the senders and the webhooks (python-telegram-bot, the
platforms' HTTP clients: ~0.2 s) load when first built, so that `touchhub contacts list`
does not pay for them (decision 0077).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from pydantic import BaseModel

from hub.channels.messengers.sender_keys import sender_keys
from hub.channels.messengers.settings import MessengersSettings
from hub.channels.plugin import ChannelPlugin, SenderFactory
from hub.model import CaptureAdapter, Sender, Sink


def build_adapters(settings: MessengersSettings) -> Sequence[CaptureAdapter]:
    from hub.channels.messengers import factory  # loaded when first used (see above)

    return factory.build_adapters(settings)


def build_sender(settings: MessengersSettings, key: str, sink: Sink | None = None) -> Sender:
    from hub.channels.messengers import factory  # loaded when first used (see above)

    return factory.build_sender(settings, key, sink)


def routes() -> web.RouteTableDef:
    from hub.channels.messengers import webhooks  # loaded when first used (see above)

    return webhooks.routes


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
    routes=routes,
)
