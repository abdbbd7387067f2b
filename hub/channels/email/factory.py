"""Wiring from `[email]` settings to capture adapters and senders (the only place that does it)."""

from __future__ import annotations

import ssl

from hub.channels.email.imap_capture import ImapCapture
from hub.channels.email.imap_connection import ImapConnection
from hub.channels.email.meaning import Mailbox
from hub.channels.email.server_url import ServerUrl
from hub.channels.email.settings import AccountSettings, EmailSettings
from hub.channels.email.smtp_sender import SentCopy, SmtpSender
from hub.errors import ConfigError
from hub.model import CaptureAdapter, Sink


def mailbox_of(settings: EmailSettings, name: str, account: AccountSettings) -> Mailbox:
    """The account's own addresses and the company domains, as `meaning` wants them."""
    return Mailbox.of(
        name,
        account.addresses,
        settings.company_domains,
        [account.bounce_address] if account.bounce_address else [],
    )


def ssl_context_of(account: AccountSettings) -> ssl.SSLContext:
    """Default verification, plus the account's own CA file (self-signed servers)."""
    return ssl.create_default_context(cafile=account.tls_ca_file)


def _password(name: str, account: AccountSettings) -> str:
    if account.password is None:
        raise ConfigError(f"email.accounts.{name}.password is not set")
    return account.password.get_secret_value()


def build_capture(settings: EmailSettings, name: str) -> ImapCapture:
    """The IMAP capture adapter of account `name`."""
    account = _account(settings, name)
    if not account.imap:
        raise ConfigError(f"email.accounts.{name}.imap is not set")
    return ImapCapture(
        account=name,
        url=ServerUrl.parse(account.imap, protocol="imap", where=f"email.accounts.{name}.imap"),
        password=_password(name, account),
        mailbox=mailbox_of(settings, name, account),
        settings=settings,
        sent_folder=account.sent_folder,
        extra_folders=account.folders,
        ssl_context=ssl_context_of(account),
    )


def build_adapters(settings: EmailSettings) -> list[CaptureAdapter]:
    """One capture adapter per enabled account that has `imap`."""
    return [
        build_capture(settings, name)
        for name, account in settings.accounts.items()
        if account.enabled and account.imap
    ]


def _account(settings: EmailSettings, name: str) -> AccountSettings:
    try:
        return settings.accounts[name]
    except KeyError:
        known = ", ".join(sorted(settings.accounts)) or "none"
        raise ConfigError(f"no [email.accounts.{name}] (configured: {known})") from None


def build_sender(settings: EmailSettings, account: str, sink: Sink | None = None) -> SmtpSender:
    """The SMTP sender of `account`; with `sink`, it records its touches and bounces there."""
    conf = _account(settings, account)
    if not conf.smtp:
        raise ConfigError(f"email.accounts.{account}.smtp is not set")
    if not conf.addresses:
        raise ConfigError(
            f"email.accounts.{account}.addresses is empty: whom do letters come from?"
        )
    url = ServerUrl.parse(conf.smtp, protocol="smtp", where=f"email.accounts.{account}.smtp")
    sent_copy = _sent_copy(settings, account, conf) if conf.append_to_sent and conf.imap else None
    return SmtpSender(
        account=account,
        url=url,
        password=conf.password.get_secret_value() if conf.password else None,
        mailbox=mailbox_of(settings, account, conf),
        from_address=conf.addresses[0],
        pool_size=settings.smtp_pool_size,
        timeout=settings.timeout_s,
        max_attempts=settings.smtp_max_attempts,
        retry_base_s=settings.smtp_retry_base_s,
        message_id_domain=settings.message_id_domain,
        bounce_address=conf.bounce_address,
        ssl_context=ssl_context_of(conf),
        sink=sink,
        sent_copy=sent_copy,
    )


def sender_accounts(settings: EmailSettings) -> list[str]:
    """The accounts the runtime builds a sender for: enabled ones that have `smtp`."""
    return [name for name, account in settings.accounts.items() if account.enabled and account.smtp]


def _sent_copy(settings: EmailSettings, name: str, account: AccountSettings) -> SentCopy:
    """APPEND a sent letter to the account's Sent folder over a short IMAP session."""
    capture = build_capture(settings, name)

    async def append(raw: bytes) -> None:
        conn = ImapConnection(
            capture.url,
            _password(name, account),
            timeout=settings.timeout_s,
            ssl_context=capture.ssl_context,
        )
        try:
            await conn.open()
            await capture.folders(conn)
            if capture.sent_name is None:
                raise ConfigError(f"email.accounts.{name}: no Sent folder to append to")
            await conn.append(capture.sent_name, raw, flags="(\\Seen)")
        finally:
            await conn.close()

    return append
