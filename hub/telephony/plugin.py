"""The telephony channel as the hub sees it: `[telephony]`, AMI adapters, FastAGI routers.

Click-to-call and live call state are capabilities of `AmiAdapter` itself
(`hub.channels.capabilities`), so they need no field here.
"""

from __future__ import annotations

from hub.channels.plugin import ChannelPlugin
from hub.telephony.factory import build_adapters, build_agi_routers
from hub.telephony.settings import TelephonySettings

PLUGIN = ChannelPlugin(
    name="telephony",
    section="telephony",
    settings_model=TelephonySettings,
    build_adapters=build_adapters,
    build_services=build_agi_routers,
)
