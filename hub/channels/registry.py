"""The one list of channels: adding one is adding its package and one line here.

Each entry is (channel name, "module:attribute" of its `ChannelPlugin`). The config
loader builds one settings section per entry, the runtime builds adapters, senders and
services from them, the web app mounts their webhooks. A channel whose module cannot be
imported is a `ConfigError` naming the channel and the missing module, never a skip.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from hub.channels.plugin import ChannelPlugin
from hub.errors import ConfigError

#: Every channel touchhub knows, in the order their adapters start.
CHANNELS: tuple[tuple[str, str], ...] = (
    ("telephony", "hub.telephony.plugin:PLUGIN"),
    ("email", "hub.channels.email.plugin:PLUGIN"),
    ("sms", "hub.channels.sms.plugin:PLUGIN"),
    ("messengers", "hub.channels.messengers.plugin:PLUGIN"),
)


def _unloadable(channel: str, target: str, why: str) -> ConfigError:
    return ConfigError(f"channel {channel!r} ({target}) cannot be loaded: {why}")


def load_plugin(channel: str, target: str) -> ChannelPlugin[Any]:
    """Import one registered plug-in and check it is what its entry says."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        why = f"module {exc.name!r} is missing" if exc.name else str(exc)
        raise _unloadable(channel, target, why) from exc
    plugin = getattr(module, attribute or "PLUGIN", None)
    if not isinstance(plugin, ChannelPlugin):
        raise _unloadable(channel, target, f"{target} is not a ChannelPlugin")
    if plugin.name != channel:
        raise _unloadable(channel, target, f"its plug-in calls itself {plugin.name!r}")
    return plugin


@cache
def load_plugins(entries: tuple[tuple[str, str], ...] = CHANNELS) -> tuple[ChannelPlugin[Any], ...]:
    """Every registered plug-in, loaded once, in registry order; names and sections unique."""
    plugins = tuple(load_plugin(channel, target) for channel, target in entries)
    for attr in ("name", "section"):
        values = [getattr(p, attr) for p in plugins]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ConfigError(f"two channels share the {attr} {', '.join(twice)}")
    return plugins
