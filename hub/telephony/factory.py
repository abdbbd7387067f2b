"""Builds the telephony channel's parts from `[telephony]`: AMI adapters and FastAGI routers."""

from __future__ import annotations

from hub.channels.plugin import ChannelContext, Service
from hub.errors import ConfigError
from hub.model import CaptureAdapter
from hub.telephony.agi_router import AgiRouter
from hub.telephony.ami_adapter import AmiAdapter
from hub.telephony.settings import TelephonySettings


def build_adapters(settings: TelephonySettings) -> list[CaptureAdapter]:
    """One `AmiAdapter` per enabled PBX, in config order."""
    return [AmiAdapter(name, pbx) for name, pbx in settings.pbx.items() if pbx.enabled]


def build_agi_routers(settings: TelephonySettings, context: ChannelContext) -> list[Service]:
    """A FastAGI router per enabled PBX with `agi_listen`: caller's number → its extension."""
    routers: list[Service] = []
    for name, pbx in settings.pbx.items():
        if not (pbx.enabled and pbx.agi_listen):
            continue
        host, _, port = pbx.agi_listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"telephony.pbx.{name}.agi_listen: {pbx.agi_listen!r} is not HOST:PORT"
            )
        routers.append(AgiRouter(context.responsible_extension, host=host, port=int(port)))
    return routers
