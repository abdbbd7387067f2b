"""Builds one AMI capture adapter per enabled `[telephony.pbx.NAME]`, for the runtime."""

from __future__ import annotations

from hub.model import CaptureAdapter
from hub.telephony.ami_adapter import AmiAdapter
from hub.telephony.settings import TelephonySettings


def build_adapters(settings: TelephonySettings) -> list[CaptureAdapter]:
    """One `AmiAdapter` per enabled PBX, in config order."""
    return [AmiAdapter(name, pbx) for name, pbx in settings.pbx.items() if pbx.enabled]


def build_ami_adapters(settings: TelephonySettings) -> dict[str, AmiAdapter]:
    """The same adapters by PBX name, typed, for code that needs `live_state()` or Originate."""
    return {name: AmiAdapter(name, pbx) for name, pbx in settings.pbx.items() if pbx.enabled}
