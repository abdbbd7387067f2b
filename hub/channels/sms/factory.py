"""Wiring from `[sms]` settings to senders and adapters (the only place that does it).

An SMPP gateway has one bind, shared by its adapter and its sender: both are built around
the same `SmppSession`, kept per settings object (the runtime builds adapters and senders
in two calls over the same settings). Every gateway also has an outbox adapter, which sends
through the gateway's recording sender, kept the same way.
"""

from __future__ import annotations

import weakref
from urllib.parse import unquote, urlsplit

from hub.backoff import BackoffPolicy
from hub.channels.sms.http_profile import load_profile
from hub.channels.sms.http_sender import HttpAccount, HttpSender
from hub.channels.sms.kannel_monitor import KannelMonitor
from hub.channels.sms.kannel_sender import (
    GatewayHooks,
    KannelEndpoint,
    KannelSender,
    dlr_url_of,
    source_of,
)
from hub.channels.sms.limits import GatewayLimits
from hub.channels.sms.outbox_adapter import OutboxAdapter, OutboxSender
from hub.channels.sms.quiet_hours import Holder, QuietHours
from hub.channels.sms.settings import GatewayKind, GatewaySettings, SmsSettings
from hub.channels.sms.smpp_adapter import SmppAdapter
from hub.channels.sms.smpp_client import SmppSettings, SmppTls
from hub.channels.sms.smpp_sender import SmppSender
from hub.channels.sms.smpp_session import SessionTimers, SmppSession
from hub.channels.sms.token_bucket import TokenBucket
from hub.errors import ConfigError
from hub.model import CaptureAdapter, Sender, Sink

#: A gateway's sender, whichever kind.
GatewaySender = SmppSender | HttpSender | KannelSender
#: id(settings) → gateway name → its session; an entry goes when its settings object does.
_SESSIONS: dict[int, dict[str, SmppSession]] = {}
#: id(settings) → gateway name → its sender that records (the runtime's), likewise.
_SENDERS: dict[int, dict[str, GatewaySender]] = {}


def gateway_names(settings: SmsSettings) -> list[str]:
    """The gateways the runtime builds a sender for: the enabled ones."""
    return [name for name, gateway in settings.gateways.items() if gateway.enabled]


def build_adapters(settings: SmsSettings) -> list[CaptureAdapter]:
    """Per enabled gateway: Kannel → a health monitor (reports and MO come by webhook);
    SMPP → the adapter holding its bind."""
    adapters: list[CaptureAdapter] = [
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
    adapters += [
        SmppAdapter(smpp_session(settings, name))
        for name, gateway in settings.gateways.items()
        if gateway.enabled and gateway.kind is GatewayKind.SMPP
    ]
    adapters += [outbox_adapter(settings, name) for name in gateway_names(settings)]
    return adapters


def outbox_adapter(settings: SmsSettings, name: str) -> OutboxAdapter:
    """The adapter that takes up gateway `name`'s messages left pending by other processes."""

    def sender(sink: Sink) -> OutboxSender:
        # The runtime's sender of the gateway (its holder waits here too), else one of its own.
        built = _SENDERS.get(id(settings), {}).get(name)
        return built if built is not None else _build_sender(settings, name, sink)

    return OutboxAdapter(
        source=source_of(name),
        sender=sender,
        scan_s=settings.outbox_scan_s,
        stale_s=settings.outbox_stale_s,
        resend_unknown=settings.gateways[name].resend_unknown,
    )


def smpp_settings(name: str, gateway: GatewaySettings, settings: SmsSettings) -> SmppSettings:
    """smpp[s]://SYSTEM_ID@HOST:PORT, the password, TLS and the tunables → the client's settings."""
    if gateway.password is None:
        raise ConfigError(f"sms.gateways.{name}.password is not set")
    parts = urlsplit(gateway.url)
    assert parts.hostname is not None and parts.username is not None and parts.port is not None
    return SmppSettings(
        host=parts.hostname,
        port=parts.port,
        system_id=unquote(parts.username),
        password=gateway.password.get_secret_value(),
        system_type=gateway.system_type,
        name=f"sms:{name}",
        tls=SmppTls(ca_file=gateway.tls_ca_file, verify=gateway.tls_verify) if gateway.uses_tls else None,
        window=gateway.window,
        connect_timeout=settings.timeout_s,
        bind_timeout=settings.timeout_s,
        response_timeout=settings.timeout_s,
        write_timeout=settings.timeout_s,
        enquire_link_interval=gateway.enquire_link_s,
        throttle_delay=settings.retry_base_s,
        throttle_retries=max(settings.max_attempts, 5),
    )


def smpp_session(settings: SmsSettings, name: str) -> SmppSession:
    """The one session of SMPP gateway `name` under `settings` (built on first use)."""
    sessions = _SESSIONS.get(id(settings))
    if sessions is None:
        sessions = _SESSIONS[id(settings)] = {}
        weakref.finalize(settings, _SESSIONS.pop, id(settings), None)
    session = sessions.get(name)
    if session is None:
        gateway = _gateway(settings, name)
        session = sessions[name] = SmppSession(
            gateway=name,
            settings=smpp_settings(name, gateway, settings),
            hooks=hooks_of(settings, name),
            timers=SessionTimers(
                bind_wait_s=settings.timeout_s,
                retry=BackoffPolicy(initial_s=settings.retry_base_s, max_s=settings.retry_max_s),
            ),
        )
    return session


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
        allow_from=tuple(gateway.allow_from),
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


def build_sender(settings: SmsSettings, name: str, sink: Sink | None = None) -> Sender:
    """The sender of gateway `name`; with `sink`, it records its touches and statuses there
    (and is the one the gateway's outbox adapter sends through)."""
    sender = _build_sender(settings, name, sink)
    if sink is not None:
        senders = _SENDERS.get(id(settings))
        if senders is None:
            senders = _SENDERS[id(settings)] = {}
            weakref.finalize(settings, _SENDERS.pop, id(settings), None)
        senders[name] = sender
    return sender


def _build_sender(settings: SmsSettings, name: str, sink: Sink | None) -> GatewaySender:
    gateway = _gateway(settings, name)
    limits = GatewayLimits(
        timeout_s=settings.timeout_s,
        max_attempts=settings.max_attempts,
        retry=BackoffPolicy(initial_s=settings.retry_base_s, max_s=settings.retry_max_s),
        bucket=TokenBucket(gateway.rate, gateway.burst) if gateway.rate else None,
        holder=holder_of(settings),
    )
    if gateway.kind is GatewayKind.SMPP:
        session = smpp_session(settings, name)
        if sink is not None:
            session.sink = sink
        smpp = SmppSender(
            session=session,
            sender=gateway.sender,
            bucket=limits.bucket,
            holder=limits.holder,
            long_messages=gateway.long_messages,
        )
        session.reply = smpp.send
        return smpp
    if gateway.kind is GatewayKind.HTTP:
        return http_sender(settings, name, gateway, sink, limits)
    hooks = hooks_of(settings, name)
    return KannelSender(
        endpoint=kannel_endpoint(name, gateway),
        hooks=hooks,
        sender=gateway.sender,
        dlr_url=dlr_url_of(settings.public_url, name, hooks.secret),
        sink=sink,
        limits=limits,
        smsc=gateway.smsc,
    )


def http_sender(
    settings: SmsSettings, name: str, gateway: GatewaySettings, sink: Sink | None, limits: GatewayLimits
) -> HttpSender:
    """The sender of an HTTP provider gateway, from its profile."""
    assert gateway.profile is not None  # the settings refuse kind http without one
    parts = urlsplit(gateway.url)
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return HttpSender(
        profile=load_profile(gateway.profile),
        account=HttpAccount(
            base_url=f"{parts.scheme}://{netloc}",
            username=unquote(parts.username or ""),
            password=gateway.password.get_secret_value() if gateway.password else "",
            sender=gateway.sender,
            public_url=settings.public_url,
        ),
        hooks=hooks_of(settings, name),
        sink=sink,
        limits=limits,
    )


def holder_of(settings: SmsSettings) -> Holder | None:
    """A sender's keeper of messages held through `[sms] quiet_hours`, when they are set."""
    if settings.quiet_hours is None:
        return None
    return Holder(QuietHours.parse(settings.quiet_hours, settings.company_timezone or "UTC"))
