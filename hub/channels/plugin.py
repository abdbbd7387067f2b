"""The channel plug-in point: what one channel package declares, once, to be wired in.

A channel (`hub/telephony`, `hub/channels/email`, …) exposes one `ChannelPlugin` built
from its own parts: the pydantic model of its `[section]` of the config, a factory for
its capture adapters, optionally one for its senders, its webhook routes and any
long-lived services (a FastAGI router). `hub/channels/registry.py` lists the plug-ins;
the config loader, the runtime, the web app and the CLI read that list and never name
a channel. Optional features (click-to-call, live call state) are not fields here but
Protocols in `hub/channels/capabilities.py` that adapters implement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from aiohttp import web
from pydantic import BaseModel

from hub.errors import ConfigError
from hub.model import BounceSource, CaptureAdapter, Sender, Sink

S = TypeVar("S", bound=BaseModel)

#: The store's batch writer, for channel webhooks (`app[SINK].put(touch)`); also
#: `hub.web.keys.SINK`. Defined here so that channel packages reach it without importing
#: the web app (which imports the config, which imports the channels).
SINK = web.AppKey[Sink]("sink")
#: Every channel's senders keyed ``"{channel}:{key}"``; also `hub.web.keys.SENDERS`.
SENDERS = web.AppKey[Mapping[str, Sender]]("senders")

#: Phone number (as seen on the wire) → the extension of the employee who owns that client.
ResponsibleExtension = Callable[[str], Awaitable[str | None]]


@runtime_checkable
class Service(Protocol):
    """A long-lived part of a channel that is not a capture adapter (e.g. a FastAGI server)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelContext:
    """What the runtime lends a channel's services: where touches go, store look-ups."""

    sink: Sink
    responsible_extension: ResponsibleExtension


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderFactory(Generic[S]):
    """A channel's senders: which keys its settings configure, and how to build one.

    `build(settings, key, sink)` raises `ConfigError` naming the key when it cannot send;
    with a sink, the sender records its outgoing touches and bounces there.
    """

    keys: Callable[[S], Sequence[str]]
    build: Callable[[S, str, Sink | None], Sender]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelPlugin(Generic[S]):
    """One channel, as the rest of the hub sees it.

    - `name`: short and stable; senders are keyed ``"{name}:{key}"`` (``email:sales``).
    - `section`: the config section (``[telephony]``), validated by `settings_model`.
    - `build_adapters`: every configured capture adapter of this channel (may be none).
    - `senders_factory`: its senders (keys and how to build one), if it can send.
    - `routes`: gives its webhooks (so a plug-in may load them only for the web app);
      handlers reach the writer through `hub.web.keys.SINK`.
    - `build_services`: long-lived servers started after the adapters, stopped before them.
    - `bounce_source`: reads a mailbox folder (named as the channel names it) as bounces,
      for the campaigns' bounce mailbox, if the channel can.
    """

    name: str
    section: str
    settings_model: type[S]
    build_adapters: Callable[[S], Sequence[CaptureAdapter]]
    senders_factory: SenderFactory[S] | None = None
    routes: Callable[[], web.RouteTableDef] | None = None
    build_services: Callable[[S, ChannelContext], Sequence[Service]] | None = None
    bounce_source: Callable[[S, str], BounceSource] | None = None

    def settings_of(self, settings: BaseModel) -> S:
        """This channel's section of the settings tree, typed."""
        section: Any = getattr(settings, self.section, None)
        if not isinstance(section, self.settings_model):
            raise ConfigError(f"the settings have no [{self.section}] section of {self.name}")
        return section

    def adapters(self, settings: BaseModel) -> list[CaptureAdapter]:
        """The channel's capture adapters for `settings` (the whole tree)."""
        return list(self.build_adapters(self.settings_of(settings)))

    def senders(self, settings: BaseModel, sink: Sink | None) -> dict[str, Sender]:
        """Every configured sender, keyed ``"{name}:{key}"``; none when it cannot send."""
        factory = self.senders_factory
        if factory is None:
            return {}
        section = self.settings_of(settings)
        return {
            f"{self.name}:{key}": factory.build(section, key, sink) for key in factory.keys(section)
        }

    def sender(self, settings: BaseModel, key: str, sink: Sink | None) -> Sender:
        """The sender `key` (e.g. an account name), built the way the runtime builds it."""
        if self.senders_factory is None:
            raise ConfigError(f"channel {self.name} cannot send")
        return self.senders_factory.build(self.settings_of(settings), key, sink)

    def services(self, settings: BaseModel, context: ChannelContext) -> list[Service]:
        """The channel's long-lived services (not started yet)."""
        if self.build_services is None:
            return []
        return list(self.build_services(self.settings_of(settings), context))

    def bounces(self, settings: BaseModel, mailbox: str) -> BounceSource:
        """The reader of the bounce mailbox `mailbox` (e.g. ``ACCOUNT/FOLDER``)."""
        if self.bounce_source is None:
            raise ConfigError(f"channel {self.name} cannot read a bounce mailbox")
        return self.bounce_source(self.settings_of(settings), mailbox)
