"""Wiring from `[sms]` settings to senders (the only place that does it)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from hub.backoff import BackoffPolicy
from hub.channels.sms.kannel_monitor import KannelMonitor
from hub.channels.sms.kannel_sender import GatewayHooks, KannelEndpoint, KannelSender, dlr_url_of
from hub.channels.sms.settings import GatewayKind, GatewaySettings, SmsSettings
from hub.channels.sms.token_bucket import TokenBucket
from hub.errors import ConfigError
from hub.model import CaptureAdapter, Sink


def gateway_names(settings: SmsSettings) -> list[str]:
    """The gateways the runtime builds a sender for: the enabled ones."""
    return [name for name, gateway in settings.gateways.items() if gateway.enabled]


def build_adapters(settings: SmsSettings) -> list[CaptureAdapter]:
    """A health monitor per enabled Kannel gateway (reports and MO come by webhook)."""
    return [
        KannelMonitor(
            gateway=name,
            endpoint=kannel_endpoint(name, gateway),
            interval_s=settings.probe_interval_s,
            timeout_s=settings.timeout_s,
            retry=BackoffPolicy(initial_s=settings.retry_base_s, max_s=settings.probe_interval_s),
        )
        for name, gateway in settings.gateways.items()
        if gateway.enabled and gateway.kind is GatewayKind.KANNEL
    ]


def _gateway(settings: SmsSettings, name: str) -> GatewaySettings:
    try:
        return settings.gateways[name]
    except KeyError:
        known = ", ".join(sorted(settings.gateways)) or "none"
        raise ConfigError(f"no [sms.gateways.{name}] (configured: {known})") from None


def hooks_of(settings: SmsSettings, name: str) -> GatewayHooks:
    """Token and opt-out rules of gateway `name`, as its webhooks check them."""
    gateway = _gateway(settings, name)
    return GatewayHooks(
        gateway=name,
        secret=gateway.dlr_secret.get_secret_value() if gateway.dlr_secret else None,
        opt_out_words=frozenset(w.strip().casefold() for w in settings.opt_out_words),
        opt_out_reply=settings.opt_out_reply,
    )


def kannel_endpoint(name: str, gateway: GatewaySettings) -> KannelEndpoint:
    """kannel://USER@HOST:PORT and the password → where and as whom to call sendsms."""
    if gateway.password is None:
        raise ConfigError(f"sms.gateways.{name}.password is not set")
    parts = urlsplit(gateway.url)
    assert parts.hostname is not None and parts.username is not None and parts.port is not None
    return KannelEndpoint(
        host=parts.hostname,
        port=parts.port,
        username=unquote(parts.username),
        password=gateway.password.get_secret_value(),
    )


def build_sender(settings: SmsSettings, name: str, sink: Sink | None = None) -> KannelSender:
    """The sender of gateway `name`; with `sink`, it records its touches and statuses there."""
    gateway = _gateway(settings, name)
    if gateway.kind is not GatewayKind.KANNEL:
        raise ConfigError(
            f"sms.gateways.{name}: kind {gateway.kind} cannot send yet (only kannel can)"
        )
    hooks = hooks_of(settings, name)
    return KannelSender(
        endpoint=kannel_endpoint(name, gateway),
        hooks=hooks,
        sender=gateway.sender,
        dlr_url=dlr_url_of(settings.public_url, name, hooks.secret),
        sink=sink,
        timeout_s=settings.timeout_s,
        max_attempts=settings.max_attempts,
        retry=BackoffPolicy(initial_s=settings.retry_base_s, max_s=settings.retry_max_s),
        bucket=TokenBucket(gateway.rate, gateway.burst) if gateway.rate else None,
        smsc=gateway.smsc,
    )
