"""SMTP sending against a real aiosmtpd (STARTTLS, AUTH) on loopback: 2xx, 4xx, 5xx, a server gone."""

from __future__ import annotations

import asyncio
import time
from email import message_from_bytes

import pytest

from hub.channels.email.factory import build_capture, build_sender
from hub.channels.email.settings import AccountSettings, EmailSettings
from hub.channels.email.smtp_sender import SmtpSender
from hub.errors import ChannelAuthError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    OutgoingMessage,
    SendOutcome,
    SendResult,
    Status,
)
from tests.helpers.dovecot import Dovecot
from tests.helpers.email_sink import EmailSink
from tests.helpers.smtp_server import SmtpServer, running_smtp

pytestmark = pytest.mark.timeout(60)

STEP_S = 20.0
CLIENT = "client@example.com"


def settings_for(
    smtp: SmtpServer, *, password: str = "ivanpw", dovecot: Dovecot | None = None, **extra: object
) -> EmailSettings:
    account: dict[str, object] = {
        "smtp": smtp.url(),
        "password": password,
        "addresses": ["ivan@acme.ru"],
        "tls_ca_file": str(smtp.cert),
    }
    if dovecot is not None:
        account.update(imap=dovecot.url("ivan"), append_to_sent=True)
    values: dict[str, object] = {
        "company_domains": ["acme.ru"],
        "accounts": {"ivan": AccountSettings.model_validate(account)},
        "timeout_s": 5.0,
        "smtp_retry_base_s": 0.05,
        "smtp_max_attempts": 3,
    }
    values.update(extra)
    return EmailSettings.model_validate(values)


def letter(*to: str, subject: str = "Invoice") -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.EMAIL,
        to=tuple(Address(kind=AddressKind.EMAIL, value=a) for a in to),
        subject=subject,
        body="Добрый день! Счёт во вложении.",
    )


async def send(sender: SmtpSender, message: OutgoingMessage) -> SendResult:
    return await asyncio.wait_for(sender.send(message), STEP_S)


async def test_a_letter_goes_out_with_our_message_id_and_comes_back_as_a_touch(
    smtp_server: SmtpServer,
) -> None:
    sink = EmailSink()
    sender = build_sender(settings_for(smtp_server), "ivan", sink=sink)
    try:
        result = await send(sender, letter(CLIENT))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.ok and result.code == 250 and result.attempts == 1
    assert [r.outcome for r in result.recipients] == [SendOutcome.SENT]
    [received] = smtp_server.handler.received
    parsed = message_from_bytes(received.data)
    assert parsed["Message-ID"] == f"<{result.external_id}>"
    touch = result.touch
    assert touch is not None and touch.key == ("email", result.external_id)
    assert touch.direction is Direction.OUT and touch.status is Status.SENT
    assert touch.preview == "Добрый день! Счёт во вложении."
    assert [c.value for c in touch.counterparts] == [CLIENT]
    assert list(sink.touches) == [touch.key]


async def test_connections_are_reused_across_letters(smtp_server: SmtpServer) -> None:
    sender = build_sender(settings_for(smtp_server, smtp_pool_size=2), "ivan")
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(sender.send(letter(CLIENT, subject=f"n{i}")) for i in range(20))),
            STEP_S,
        )
        assert all(r.ok for r in results)
        assert len(sender._idle) <= 2  # never more connections than the pool allows
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert len(smtp_server.handler.received) == 20


async def test_4xx_is_retried_then_sent(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_script[CLIENT] = ["451 4.3.0 Try again later", "250 OK"]
    sender = build_sender(settings_for(smtp_server), "ivan")
    try:
        result = await send(sender, letter(CLIENT))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.ok and result.attempts == 2
    assert len(smtp_server.handler.received) == 1


async def test_4xx_that_persists_gives_up_after_bounded_attempts(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_script[CLIENT] = ["452 4.2.2 Mailbox full, try later"]
    sink = EmailSink()
    sender = build_sender(settings_for(smtp_server), "ivan", sink=sink)
    try:
        result = await send(sender, letter(CLIENT))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.outcome is SendOutcome.TEMPORARY_FAILURE and result.attempts == 3
    assert result.code == 452 and result.touch is None and not sink.updates


async def test_5xx_for_one_recipient_marks_it_bouncing_and_sends_to_the_rest(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.handler.rcpt_script["nobody@example.com"] = ["550 5.1.1 User unknown"]
    sink = EmailSink()
    sender = build_sender(settings_for(smtp_server), "ivan", sink=sink)
    try:
        result = await send(sender, letter(CLIENT, "nobody@example.com"))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.ok and result.attempts == 1
    by_address = {r.address.value: r for r in result.recipients}
    assert by_address[CLIENT].outcome is SendOutcome.SENT
    refused = by_address["nobody@example.com"]
    assert refused.outcome is SendOutcome.PERMANENT_FAILURE and refused.code == 550
    [update] = sink.updates
    assert update.status is Status.BOUNCED and update.external_id == result.external_id
    assert update.address is not None and update.address.value == "nobody@example.com"
    assert update.detail == "550 5.1.1 User unknown"
    assert smtp_server.handler.received[0].rcpt_tos == [CLIENT]


async def test_5xx_for_every_recipient_is_a_permanent_failure(smtp_server: SmtpServer) -> None:
    smtp_server.handler.rcpt_script[CLIENT] = ["550 5.1.1 User unknown"]
    sender = build_sender(settings_for(smtp_server), "ivan")
    try:
        result = await send(sender, letter(CLIENT))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.outcome is SendOutcome.PERMANENT_FAILURE and result.attempts == 1
    assert result.reason == "5.1.1 User unknown"
    assert result.touch is not None and result.touch.status is Status.BOUNCED


async def test_5xx_at_data_fails_the_letter_not_the_address(smtp_server: SmtpServer) -> None:
    smtp_server.handler.data_script.append("554 5.7.1 Message content rejected")
    sink = EmailSink()
    sender = build_sender(settings_for(smtp_server), "ivan", sink=sink)
    try:
        result = await send(sender, letter(CLIENT))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.outcome is SendOutcome.PERMANENT_FAILURE and result.code == 554
    assert result.touch is not None and result.touch.status is Status.FAILED
    assert not sink.updates


async def test_server_gone_in_the_middle_of_a_batch_then_back(smtp_server: SmtpServer) -> None:
    sender = build_sender(settings_for(smtp_server), "ivan")
    results: list[SendResult] = []
    try:
        for i in range(3):
            results.append(await send(sender, letter(CLIENT, subject=f"before {i}")))
        await asyncio.to_thread(smtp_server.stop)
        started = time.monotonic()
        for i in range(3):
            results.append(await send(sender, letter(CLIENT, subject=f"during {i}")))
        assert time.monotonic() - started < 10  # refused fast, retries bounded
        await asyncio.to_thread(smtp_server.start)
        for i in range(3):
            results.append(await send(sender, letter(CLIENT, subject=f"after {i}")))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    outcomes = [r.outcome for r in results]
    assert (
        outcomes
        == [SendOutcome.SENT] * 3 + [SendOutcome.TEMPORARY_FAILURE] * 3 + [SendOutcome.SENT] * 3
    )
    assert all(r.touch is None for r in results[3:6])
    assert len(smtp_server.handler.received) == 6


async def test_wrong_password_is_an_auth_error(smtp_server: SmtpServer) -> None:
    sender = build_sender(settings_for(smtp_server, password="wrong"), "ivan")
    with pytest.raises(ChannelAuthError):
        await send(sender, letter(CLIENT))
    await asyncio.wait_for(sender.close(), STEP_S)


async def test_implicit_tls() -> None:
    with running_smtp(implicit_tls=True) as server:
        sender = build_sender(settings_for(server), "ivan")
        try:
            result = await send(sender, letter(CLIENT))
        finally:
            await asyncio.wait_for(sender.close(), STEP_S)
    assert result.ok


async def test_sent_copy_in_the_sent_folder_is_the_same_activity(
    smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    settings = settings_for(smtp_server, dovecot=dovecot)
    settings.accounts["ivan"] = AccountSettings.model_validate(
        {**settings.accounts["ivan"].model_dump(), "password": "ivanpw"}
    )
    sink = EmailSink()
    sender = build_sender(settings, "ivan", sink=sink)
    try:
        result = await send(sender, letter(CLIENT))
    finally:
        await asyncio.wait_for(sender.close(), STEP_S)
    assert result.ok and len(sink.touches) == 1
    capture = build_capture(settings, "ivan")
    await asyncio.wait_for(capture.sync_once(sink), STEP_S)
    assert list(sink.touches) == [("email", result.external_id)]
    seen = sink.touches[("email", result.external_id)]
    assert seen.metadata["folder"] == "Sent" and seen.direction is Direction.OUT
